import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM text and as files. */
export interface IssuedCertificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** A throwaway certificate authority in a temporary directory, made with the `openssl` program. */
export interface TestCa {
  /** The CA certificate's PEM file: what `--ca` is given. */
  caFile: string;
  caPem: string;
  /** A server certificate signed by this CA for DNS names and IP addresses. */
  issue(names: readonly string[]): Promise<IssuedCertificate>;
  cleanup(): Promise<void>;
}

/** Whether the `openssl` program can be run here (Node cannot make certificates itself). */
export async function hasOpenssl(): Promise<boolean> {
  return run('openssl', ['version']).then(
    () => true,
    () => false,
  );
}

/**
 * Makes a CA valid for a day. RSA keys and `x509 -req -extfile` work the same in
 * OpenSSL 1.1, 3.x and LibreSSL (macOS), so the tests run wherever `openssl` does.
 */
export async function createTestCa(commonName = 'Postern Test CA'): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-test-ca-'));
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1', '-subj', `/CN=${commonName}`, '-keyout', caKey, '-out', caFile]);
  let serial = 0;
  return {
    caFile,
    caPem: await readFile(caFile, 'utf8'),
    async issue(names) {
      const base = join(dir, `server-${++serial}`);
      const [keyFile, csr, certFile, ext] = [`${base}.key`, `${base}.csr`, `${base}.pem`, `${base}.ext`];
      const alt = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      await writeFile(ext, `subjectAltName=${alt}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${names[0] ?? 'localhost'}`, '-keyout', keyFile, '-out', csr]);
      await openssl(['x509', '-req', '-sha256', '-days', '1', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(1000 + serial), '-extfile', ext, '-out', certFile]);
      return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), certFile, keyFile };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
}

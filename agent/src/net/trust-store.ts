import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { AgentError, reasonOf } from '../errors.js';
import { firstUnreadable, splitCertificates } from './pem.js';

/** Environment variable naming a private CA's PEM file, when `--ca` is not given. */
export const CA_FILE_ENV = 'POSTERN_CA_FILE';

/**
 * Where Linux distributions keep the system's trusted CAs as one PEM bundle; the
 * first that exists is read (the list Go's crypto/x509 uses).
 */
export const LINUX_CA_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Arch, Gentoo
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/ssl/cert.pem', // Alpine
] as const;

/** The CAs every TLS connection of the agent verifies the server against. */
export interface TrustStore {
  /** The private CA file (`--ca`), absolute, when one is used. */
  caFile: string | undefined;
  /** PEM certificates: the system's, Node's bundled roots and the private CA's, without repeats. */
  certificates: readonly string[];
}

export interface TrustStoreOptions {
  caFile?: string | undefined;
  platform?: NodeJS.Platform;
  /** System bundles to look for (tests). */
  bundles?: readonly string[];
}

/**
 * The system's trust store, Node's bundled roots and a private CA, for TLS options that
 * replace Node's defaults (`ca`). Node 20 cannot use the OS store itself: on Linux the
 * distribution's bundle is read; on macOS and Windows only Node's bundled roots are
 * trusted besides the private CA, so a CA installed in Keychain or the Windows store needs `--ca`.
 */
export async function loadTrustStore(options: TrustStoreOptions = {}): Promise<TrustStore> {
  const caFile = options.caFile ? resolve(options.caFile) : undefined;
  const extra = caFile ? await readCaFile(caFile) : [];
  const system = (options.platform ?? process.platform) === 'linux' ? await readFirstBundle(options.bundles ?? LINUX_CA_BUNDLES) : [];
  const certificates = [...new Set([...system, ...rootCertificates.map((pem) => `${pem.trim()}\n`), ...extra])];
  return { caFile, certificates };
}

/** The certificates of a private CA file, or an error naming the file and what is wrong with it. */
async function readCaFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AgentError('ca_unreadable', `cannot read the CA file ${path} (${reasonOf(err)}): give --ca (or ${CA_FILE_ENV}) the path of a PEM file this user can read`, { cause: err });
  }
  const pems = splitCertificates(text);
  if (pems.length === 0) {
    throw new AgentError('ca_empty', `the CA file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give --ca the CA's certificate in PEM, not a key or DER file`);
  }
  const bad = firstUnreadable(pems);
  if (bad !== undefined) {
    throw new AgentError('ca_invalid', `certificate ${bad} of ${pems.length} in the CA file ${path} is not a valid X.509 certificate: export the CA certificate again in PEM`);
  }
  return pems;
}

/** Whether a connection to `url` is verified against a trust store (https:, wss:). */
export function isTls(url: string): boolean {
  return /^(https|wss):/i.test(url);
}

/** The first system bundle that exists; a missing or broken one only leaves Node's roots. */
async function readFirstBundle(paths: readonly string[]): Promise<string[]> {
  for (const path of paths) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return splitCertificates(text);
  }
  return [];
}

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** A certificate or key that cannot be served; the message names the file and the reason. */
export class TlsFilesInvalid extends Error {}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, for the log. */
  fingerprint: string;
  validTo: string;
}

/**
 * Reads a PEM certificate (chain) and its private key and checks them before any socket sees
 * them: both parse, the key belongs to the certificate, and the certificate has not expired.
 */
export async function loadTlsFiles(files: TlsFiles, now = new Date()): Promise<TlsMaterial> {
  const cert = await read(files.certFile, 'certificate');
  const key = await read(files.keyFile, 'private key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new TlsFilesInvalid(`the TLS certificate ${files.certFile} is not a PEM certificate (${(error as Error).message}): give --tls-cert the certificate chain, leaf first`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsFilesInvalid(`the TLS key ${files.keyFile} is not an unencrypted PEM private key (${(error as Error).message}): give --tls-key the key of the certificate, without a passphrase`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsFilesInvalid(`the TLS key ${files.keyFile} does not belong to the certificate ${files.certFile}: give the key the certificate was issued for`);
  if (new Date(leaf.validTo) < now) throw new TlsFilesInvalid(`the TLS certificate ${files.certFile} expired on ${new Date(leaf.validTo).toISOString()}: renew it`);
  return { cert, key, fingerprint: leaf.fingerprint256, validTo: new Date(leaf.validTo).toISOString() };
}

async function read(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new TlsFilesInvalid(`cannot read the TLS ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check the path and that this user may read it`);
  }
}

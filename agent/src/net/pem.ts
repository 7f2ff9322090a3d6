import { X509Certificate } from 'node:crypto';

const CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a bundle, in order; text between them (comments, keys) is ignored. */
export function splitCertificates(text: string): string[] {
  return (text.match(CERTIFICATE) ?? []).map((pem) => `${pem.replace(/\r\n/g, '\n').trim()}\n`);
}

/** The first certificate of `pems` that does not parse, by its position (1-based), or undefined. */
export function firstUnreadable(pems: readonly string[]): number | undefined {
  for (const [i, pem] of pems.entries()) {
    try {
      new X509Certificate(pem);
    } catch {
      return i + 1;
    }
  }
  return undefined;
}

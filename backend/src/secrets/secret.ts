import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// Node's one-shot hash (20.12 and later) where there is one: a Hash object per call costs several
// times the digest of a short secret, and a gateway key is hashed on every compliance request.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-256 hex: the only form in which tokens and keys are stored. */
export function hashSecret(secret: string): string {
  return oneShotHash ? oneShotHash('sha256', secret, 'hex') : createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time equality of two hex digests of equal length. */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Credentials that name their own row (`<prefix>_<id>_<secret>`) so the server can fetch the row
 * by id and compare the secret's hash in constant time, instead of searching by the secret.
 */
export function newIdentifiedSecret(prefix: string, id: string): string {
  return `${prefix}_${id.replaceAll('-', '')}_${randomHex(32)}`;
}

/** One pattern per prefix, built once: a credential is parsed on every request that presents one. */
const identifiedSecretPatterns = new Map<string, RegExp>();

export function parseIdentifiedSecret(prefix: string, presented: string): { id: string } | null {
  let pattern = identifiedSecretPatterns.get(prefix);
  if (!pattern) identifiedSecretPatterns.set(prefix, (pattern = new RegExp(`^${prefix}_([0-9a-f]{32})_[0-9a-f]{64}$`)));
  const match = pattern.exec(presented);
  const hex = match?.[1];
  if (!hex) return null;
  return { id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` };
}

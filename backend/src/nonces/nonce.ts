import { randomBytes } from 'node:crypto';

/** A fresh stream nonce: 32 random bytes, base64url. It lives in its connection only. */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

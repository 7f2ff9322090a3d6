import { createHash } from 'node:crypto';

/** DPoP `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

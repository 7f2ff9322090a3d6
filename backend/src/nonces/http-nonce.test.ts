import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nonce as nonceSchema } from '@postern/shared';
import { HTTP_NONCE_TTL_S, HttpNonces } from './http-nonce.js';

describe('self-verifying HTTP nonces', () => {
  const nonces = new HttpNonces(randomBytes(32));
  const now = 1_800_000_000;

  it('fit the protocol nonce format and verify until they expire', () => {
    const nonce = nonces.issue(now);
    expect(nonceSchema.safeParse(nonce).success).toBe(true);
    expect(nonces.expiry(nonce, now)).toBe(now + HTTP_NONCE_TTL_S);
    expect(nonces.expiry(nonce, now + HTTP_NONCE_TTL_S - 1)).toBe(now + HTTP_NONCE_TTL_S);
    expect(nonces.expiry(nonce, now + HTTP_NONCE_TTL_S)).toBeNull();
  });

  it('refuses a nonce of another key, a changed byte, a moved expiry and another spelling of the same bytes', () => {
    const nonce = nonces.issue(now);
    expect(new HttpNonces(randomBytes(32)).expiry(nonce, now)).toBeNull();
    const raw = Buffer.from(nonce, 'base64url');
    for (const at of [0, 3, 4, 15, 16, 31]) {
      const changed = Buffer.from(raw);
      changed[at] = (changed[at] ?? 0) ^ 1;
      expect(nonces.expiry(changed.toString('base64url'), now)).toBeNull();
    }
    // 43 characters carry 258 bits: the last one's low 2 bits are spare.
    const last = nonce.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = nonce.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(Buffer.from(sibling, 'base64url').equals(raw)).toBe(true);
    expect(nonces.expiry(sibling, now)).toBeNull();
    expect(nonces.expiry('x'.repeat(43), now)).toBeNull();
    expect(nonces.expiry('', now)).toBeNull();
  });
});

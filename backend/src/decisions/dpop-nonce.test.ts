import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DPOP_NONCE_WINDOW_S, DpopNonces } from './dpop-nonce.js';

const KEY = randomBytes(32);
const START = 1_750_000_200; // the first second of a window (1_750_000_200 / 300 is whole)

describe('DpopNonces', () => {
  const nonces = new DpopNonces(KEY);

  it('gives one nonce per window, the same on every replica holding the key', () => {
    expect(nonces.current(START)).toBe(nonces.current(START + DPOP_NONCE_WINDOW_S - 1));
    expect(new DpopNonces(Buffer.from(KEY)).current(START)).toBe(nonces.current(START));
    expect(nonces.current(START + DPOP_NONCE_WINDOW_S)).not.toBe(nonces.current(START));
  });

  it('accepts a nonce in its window and the next one, and not before or after', () => {
    const nonce = nonces.current(START);
    expect(nonces.accepts(nonce, START)).toBe(true);
    expect(nonces.accepts(nonce, START + 2 * DPOP_NONCE_WINDOW_S - 1)).toBe(true);
    expect(nonces.accepts(nonce, START + 2 * DPOP_NONCE_WINDOW_S)).toBe(false);
    expect(nonces.accepts(nonce, START - 1)).toBe(false);
  });

  it('refuses a nonce made with another key, a forged tag and a spelling other than the canonical one', () => {
    expect(nonces.accepts(new DpopNonces(randomBytes(32)).current(START), START)).toBe(false);
    const raw = Buffer.from(nonces.current(START), 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(nonces.accepts(raw.toString('base64url'), START)).toBe(false);
    expect(nonces.accepts(`${nonces.current(START)}=`, START)).toBe(false);
    expect(nonces.accepts('', START)).toBe(false);
    expect(nonces.accepts('not base64url at all!', START)).toBe(false);
  });

  it('needs a key of at least 32 bytes', () => {
    expect(() => new DpopNonces(randomBytes(16))).toThrow(/at least 32 bytes/);
  });
});

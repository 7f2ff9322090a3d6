import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DPOP_NONCE_WINDOW_S, dpopNonceModeFromEnv, DpopNonces } from './dpop-nonce.js';

const KEY = randomBytes(32);
const START = 1_750_000_200; // the first second of a window (1_750_000_200 / 300 is whole)

describe('DpopNonces', () => {
  const nonces = new DpopNonces(KEY, 'shared');

  it('gives one nonce per window, the same on every replica holding the key', () => {
    expect(nonces.current(START)).toBe(nonces.current(START + DPOP_NONCE_WINDOW_S - 1));
    expect(new DpopNonces(Buffer.from(KEY), 'shared').current(START)).toBe(nonces.current(START));
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
    expect(nonces.accepts(new DpopNonces(randomBytes(32), 'shared').current(START), START)).toBe(false);
    const raw = Buffer.from(nonces.current(START), 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(nonces.accepts(raw.toString('base64url'), START)).toBe(false);
    expect(nonces.accepts(`${nonces.current(START)}=`, START)).toBe(false);
    expect(nonces.accepts('', START)).toBe(false);
    expect(nonces.accepts('not base64url at all!', START)).toBe(false);
  });

  it('needs a key of at least 32 bytes', () => {
    expect(() => new DpopNonces(randomBytes(16), 'shared')).toThrow(/at least 32 bytes/);
  });

  it('made for this replica, are accepted by no other process, nor by this one after a restart', () => {
    const here = DpopNonces.forThisReplica();
    expect(here.mode).toBe('replica');
    expect(here.accepts(here.current(START), START)).toBe(true);
    expect(DpopNonces.forThisReplica().accepts(here.current(START), START)).toBe(false);
    expect(nonces.accepts(here.current(START), START)).toBe(false);
  });
});

describe('POSTERN_DPOP_NONCE', () => {
  it('is off unset, empty or 0; 1 for shared nonces; replica for replica-bound ones; anything else is refused', () => {
    for (const off of [undefined, '', '0']) expect(dpopNonceModeFromEnv({ POSTERN_DPOP_NONCE: off })).toBeNull();
    expect(dpopNonceModeFromEnv({ POSTERN_DPOP_NONCE: '1' })).toBe('shared');
    expect(dpopNonceModeFromEnv({ POSTERN_DPOP_NONCE: 'replica' })).toBe('replica');
    expect(() => dpopNonceModeFromEnv({ POSTERN_DPOP_NONCE: 'yes' })).toThrow(/must be 1 .*, replica .* or 0 \(off\)/);
  });
});

import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import { OutageReplaySet } from './outage-replay-set.js';

const spend = (jtiHash: string, expiresAtMs: number) => ({ jtiHash, expiresAt: new Date(expiresAtMs) });

describe('proof ids spent in memory during a database outage', () => {
  it('accepts a proof once, also twice in one batch, and refuses it until it expires', () => {
    const set = new OutageReplaySet();
    expect(set.spend([spend('a', 2_000), spend('a', 2_000), spend('b', 3_000)], 1_000)).toEqual([
      { ok: true, value: true },
      { ok: true, value: false },
      { ok: true, value: true },
    ]);
    expect(set.has('a', 1_500)).toBe(true);
    expect(set.spend([spend('a', 2_000)], 1_999)).toEqual([{ ok: true, value: false }]);
    // Expired proofs are forgotten: verification refuses them by their iat anyway.
    expect(set.has('a', 2_000)).toBe(false);
    expect(set.has('b', 2_000)).toBe(true);
    expect(set.size).toBe(1);
  });

  it('fails closed, as the database would, when full of live proofs', () => {
    const set = new OutageReplaySet(2);
    set.spend([spend('a', 5_000), spend('b', 5_000)], 1_000);
    const [full] = set.spend([spend('c', 5_000)], 1_000);
    expect(full?.ok).toBe(false);
    expect(full && !full.ok && isDatabaseUnavailable(full.error)).toBe(true);
    // Room again once the oldest have expired.
    expect(set.spend([spend('c', 9_000)], 5_000)).toEqual([{ ok: true, value: true }]);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from '../state/store.js';
import { sampleDevice } from '../testenv/fake-enrollment.js';
import { PersistedSeq } from './seq.js';

describe('PersistedSeq', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-seq-'));
    await new StateStore(dir).writeDevice(sampleDevice());
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps increasing across a simulated restart', async () => {
    const before = new PersistedSeq(new StateStore(dir));
    const first = [await before.next(), await before.next(), await before.next()];
    expect(first).toEqual([1, 2, 3]);

    // A new process: fresh objects over the same directory.
    const after = new PersistedSeq(new StateStore(dir));
    expect(await after.next()).toBe(4);
    expect((await new StateStore(dir).readDevice())?.last_seq).toBe(4);
  });

  it('hands out distinct numbers to concurrent callers', async () => {
    const seq = new PersistedSeq(new StateStore(dir));
    const got = await Promise.all([seq.next(), seq.next(), seq.next(), seq.next()]);
    expect(new Set(got).size).toBe(4);
    expect(Math.max(...got)).toBe(4);
  });

  it('jumps past any counter value when the server says a seq was replayed', async () => {
    const seq = new PersistedSeq(new StateStore(dir), () => 1_750_000_000_000);
    await seq.next();
    await seq.skipAhead();
    expect(await seq.next()).toBe(1_750_000_000_001);
  });
});

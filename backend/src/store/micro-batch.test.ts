import { describe, expect, it } from 'vitest';
import { MicroBatch, Overloaded, type Outcome } from './micro-batch.js';

const doubled = (items: readonly number[]): Promise<Array<Outcome<number>>> => Promise.resolve(items.map((n) => ({ ok: true, value: n * 2 })));

describe('a micro-batch', () => {
  it('runs calls made in the same turn of the event loop as one batch', async () => {
    const batches: number[][] = [];
    const batch = new MicroBatch<number, number>((items) => (batches.push([...items]), doubled(items)), { maxBatch: 100, maxInFlight: 1, maxQueued: 1000 });
    expect(await Promise.all([1, 2, 3].map((n) => batch.submit(n)))).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('gathers the calls that arrive while a batch is busy into the next one, no larger than maxBatch', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batch = new MicroBatch<number, number>(
      async (items) => {
        batches.push([...items]);
        if (batches.length === 1) await gate;
        return doubled(items);
      },
      { maxBatch: 2, maxInFlight: 1, maxQueued: 1000 },
    );
    const first = batch.submit(0);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = [1, 2, 3].map((n) => batch.submit(n));
    expect(batch.queued).toBe(3);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([0, 2, 4, 6]);
    expect(batches).toEqual([[0], [1, 2], [3]]);
  });

  it('settles each call with its own outcome: one refused item does not fail the others', async () => {
    const batch = new MicroBatch<number, number>(
      (items) => Promise.resolve(items.map((n) => (n < 0 ? { ok: false, error: new RangeError(`${n} is negative`) } : { ok: true, value: n }))),
      { maxBatch: 10, maxInFlight: 1, maxQueued: 10 },
    );
    const [a, b] = await Promise.allSettled([batch.submit(1), batch.submit(-1)]);
    expect(a).toEqual({ status: 'fulfilled', value: 1 });
    expect(b).toMatchObject({ status: 'rejected', reason: { message: '-1 is negative' } });
  });

  it('fails every call of a batch whose run throws, and keeps serving later calls', async () => {
    let calls = 0;
    const batch = new MicroBatch<number, number>(
      (items) => (++calls === 1 ? Promise.reject(new Error('database is down')) : doubled(items)),
      { maxBatch: 10, maxInFlight: 1, maxQueued: 10 },
    );
    const failed = await Promise.allSettled([batch.submit(1), batch.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await batch.submit(3)).toBe(6);
  });

  it('refuses a call at once with Overloaded when maxQueued calls are already waiting', async () => {
    const batch = new MicroBatch<number, number>(doubled, { maxBatch: 10, maxInFlight: 1, maxQueued: 2 });
    const waiting = [batch.submit(1), batch.submit(2)];
    await expect(batch.submit(3)).rejects.toBeInstanceOf(Overloaded);
    expect(await Promise.all(waiting)).toEqual([2, 4]);
  });
});

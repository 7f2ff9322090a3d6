import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles its ceiling from 1 s and caps it at 5 minutes', () => {
    const backoff = new Backoff({ random: () => 0.999999 });
    const delays = Array.from({ length: 12 }, () => backoff.next());
    expect(delays.slice(0, 5).map((d) => Math.round(d / 1000))).toEqual([1, 2, 4, 8, 16]);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(Math.max(...delays)).toBeLessThan(300_000);
    expect(delays.at(-1)).toBeGreaterThan(299_000);
  });

  it('draws each delay uniformly below the ceiling (full jitter)', () => {
    const low = new Backoff({ random: () => 0 });
    expect([low.next(), low.next(), low.next()]).toEqual([0, 0, 0]);

    const real = new Backoff();
    for (let i = 0; i < 6; i++) real.next();
    const samples = Array.from({ length: 200 }, () => real.next());
    expect(new Set(samples).size).toBeGreaterThan(150);
    expect(samples.every((d) => d >= 0 && d < 300_000)).toBe(true);
  });

  it('starts small again after a reset', () => {
    const backoff = new Backoff({ random: () => 0.5 });
    for (let i = 0; i < 8; i++) backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it('waits at least 15 s when the server rate limits, and still under the cap', () => {
    const backoff = new Backoff({ random: () => 0 });
    expect(backoff.nextLonger()).toBe(15_000);
    for (let i = 0; i < 10; i++) expect(backoff.nextLonger()).toBeLessThanOrEqual(300_000);
    expect(backoff.ceilingMs()).toBe(300_000);
  });
});

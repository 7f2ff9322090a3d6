import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, refuses the next event, and refills with time', () => {
    let t = 0;
    const bucket = new TokenBucket(3, 1, () => t);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    t = 1000;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('tells whether an event would pass without spending it', () => {
    const bucket = new TokenBucket(1, 1, () => 0);
    expect(bucket.available()).toBe(true);
    expect(bucket.available()).toBe(true);
    expect(bucket.take()).toBe(true);
    expect(bucket.available()).toBe(false);
  });
});

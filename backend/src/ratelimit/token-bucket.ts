/**
 * A token bucket: `capacity` events at once, refilled at `perSecond`. Time is injected for tests.
 * For state that lives and dies with one connection (the agent stream's frames); limits per client
 * address, shared by replicas, are ratelimit/limits.ts.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = clock();
  }

  take(): boolean {
    if (!this.available()) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether one more event would be allowed, without spending it. */
  available(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    return this.tokens >= 1;
  }
}

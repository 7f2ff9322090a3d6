/** A token bucket: `capacity` events at once, refilled at `perSecond`. Time is injected for tests. */
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

/** Buckets per key (a client address), forgetting idle keys so the map stays bounded. */
export class KeyedLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; seen: number }>();
  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly maxKeys = 10_000,
  ) {}

  available(key: string): boolean {
    return this.buckets.get(key)?.bucket.available() ?? true;
  }

  take(key: string): boolean {
    const now = Date.now();
    let entry = this.buckets.get(key);
    if (!entry) {
      if (this.buckets.size >= this.maxKeys) this.evictIdle(now);
      entry = { bucket: new TokenBucket(this.capacity, this.perSecond), seen: now };
      this.buckets.set(key, entry);
    }
    entry.seen = now;
    return entry.bucket.take();
  }

  private evictIdle(now: number): void {
    const idleMs = (this.capacity / this.perSecond) * 1000;
    for (const [key, entry] of this.buckets) if (now - entry.seen > idleMs) this.buckets.delete(key);
    // Still full: drop the oldest half rather than grow without bound.
    if (this.buckets.size >= this.maxKeys) [...this.buckets.keys()].slice(0, this.maxKeys / 2).forEach((k) => this.buckets.delete(k));
  }
}

/**
 * Reconnect delays: exponential growth from `baseMs` to `capMs` with full jitter
 * (a uniformly random delay below the current ceiling), so a fleet that lost its
 * backend at the same moment does not return at the same moment.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export class Backoff {
  private attempt = 0;
  readonly baseMs: number;
  readonly capMs: number;
  private readonly random: () => number;
  /** Attempts past this one would only compute ceilings above the cap. */
  private readonly maxAttempt: number;

  constructor(options: { baseMs?: number; capMs?: number; random?: () => number } = {}) {
    this.baseMs = options.baseMs ?? 1_000;
    this.capMs = options.capMs ?? 5 * 60_000;
    this.random = options.random ?? Math.random;
    this.maxAttempt = Math.max(0, Math.ceil(Math.log2(this.capMs / this.baseMs)));
  }

  /** The ceiling the next delay is drawn below. */
  ceilingMs(): number {
    return Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
  }

  /** The next delay, in milliseconds, growing the ceiling for the one after. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceilingMs());
    this.attempt = Math.min(this.maxAttempt, this.attempt + 1);
    return delay;
  }

  /**
   * A longer delay for when the server said it is overloaded (4429): at least half
   * a ceiling that starts at 30 s, and the ceiling jumps ahead two steps.
   */
  nextLonger(): number {
    const ceiling = Math.min(this.capMs, Math.max(30_000, this.ceilingMs() * 4));
    this.attempt = Math.min(this.maxAttempt, this.attempt + 2);
    return Math.floor(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** After a connection that authenticated: the next failure starts small again. */
  reset(): void {
    this.attempt = 0;
  }
}

/** A delay for a log line: "1.2s" below ten seconds, whole seconds above. */
export function formatDelay(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

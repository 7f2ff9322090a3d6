/**
 * One computation shared by every caller asking for the same key within `maxAgeMs`: each change
 * makes every open overview read its figures again, so a hundred open dashboards must not mean
 * a hundred reads per change. With `staleMs`, an entry up to that much older still answers at
 * once while one fresh computation runs (the last good value, never a failure).
 */
export class SharedResult<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T>; settled: boolean }>();
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly options: { staleMs?: number } = {},
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.maxAgeMs) return entry.value;
    if (entry?.settled && now - entry.at < this.maxAgeMs + (this.options.staleMs ?? 0)) {
      this.refresh(key, compute);
      return entry.value;
    }
    for (const [k, e] of this.entries) if (now - e.at >= this.maxAgeMs + (this.options.staleMs ?? 0)) this.entries.delete(k);
    return this.start(key, compute, now);
  }

  private start(key: string, compute: () => Promise<T>, now: number): Promise<T> {
    const value = compute();
    const entry = { at: now, value, settled: false };
    this.entries.set(key, entry);
    value.then(
      () => (entry.settled = true),
      // A failure is not kept: the next request tries again.
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    return value;
  }

  /** A stale entry is replaced only once the fresh value is there. */
  private refresh(key: string, compute: () => Promise<T>): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    const at = Date.now();
    compute()
      .then((fresh) => this.entries.set(key, { at, value: Promise.resolve(fresh), settled: true }))
      .catch(() => undefined)
      .finally(() => this.refreshing.delete(key));
  }
}

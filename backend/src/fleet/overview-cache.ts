/**
 * One computation shared by every caller asking for the same key within `maxAgeMs`: each change
 * makes every open overview read its figures again, and at 100,000 devices a read scans the
 * fleet, so a hundred open dashboards must not mean a hundred scans per change.
 */
export class SharedResult<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(private readonly maxAgeMs: number) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.maxAgeMs) return entry.value;
    const value = compute();
    this.entries.set(key, { at: now, value });
    // A failure is not kept: the next request tries again.
    value.catch(() => this.entries.delete(key));
    for (const [k, e] of this.entries) if (now - e.at >= this.maxAgeMs) this.entries.delete(k);
    return value;
  }
}

/**
 * Compares dotted numeric versions (`13.3.1`, `22.04`, `10.0.19045`); missing parts count as 0,
 * trailing text in a part (`1 (a)`) is ignored. Returns null when either side has no number at all.
 */
export function compareVersions(a: string, b: string): number | null {
  const pa = parts(a);
  const pb = parts(b);
  if (!pa || !pb) return null;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function parts(v: string): number[] | null {
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(v);
  return m?.[1] ? m[1].split('.').map(Number) : null;
}

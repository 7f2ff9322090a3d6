import { z } from 'zod';

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

const DOTTED = /^\d+(\.\d+)*$/;

/** Text, not a number: YAML reads an unquoted `14.10` as the number 14.1, so numbers are refused, not converted. */
const versionText = z.string({ error: (issue) => (issue.input === undefined ? undefined : `expected a version as quoted text, such as "14.0", not ${JSON.stringify(issue.input)}`) });

/** A minimum version in a policy (`os.min_version`'s `darwin`, `agent.min_version`'s `min`): dotted numbers such as `14.0` or `0.2.0`. */
export const minVersion = versionText.regex(DOTTED, { error: (issue) => `expected a version of dotted numbers such as 14.0 or 0.2.0, not ${JSON.stringify(issue.input)}` });

/** A minimum version, or `any` (every version): `os.min_version`'s per-distribution values. */
export const minVersionOrAny = versionText.refine((v) => v === 'any' || DOTTED.test(v), {
  error: (issue) => `expected a version of dotted numbers such as 22.04, or "any", not ${JSON.stringify(issue.input)}`,
});

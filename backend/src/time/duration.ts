const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `90s`, `10m`, `24h`, `30d`, `2w` → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw new Error(`"${text}" is not a duration: use a number and a unit, such as 10m, 24h or 30d`);
  return Number(m[1]) * (UNITS[m[2]] ?? 1);
}

/**
 * A point in time from the command line: ISO 8601 (`2026-05-01T18:00:00Z`) or a duration from
 * `now` (`48h`). Returns seconds since the epoch.
 */
export function parseTimeOrDuration(text: string, now: number): number {
  const trimmed = text.trim();
  if (/^\d+\s*[smhdw]$/.test(trimmed)) return now + parseDuration(trimmed);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new Error(`"${text}" is neither a time nor a duration: use ISO 8601 such as 2026-05-01T18:00:00Z, or a duration such as 3s, 48h or 7d`);
}

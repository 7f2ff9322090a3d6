const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `90s`, `10m`, `24h`, `30d`, `2w` → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw new Error(`"${text}" is not a duration: use a number and a unit, such as 10m, 24h or 30d`);
  return Number(m[1]) * (UNITS[m[2]] ?? 1);
}

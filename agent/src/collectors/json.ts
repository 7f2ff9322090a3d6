/**
 * Reading JSON that a tool printed (PowerShell's ConvertTo-Json, lsblk -J, nft -j):
 * nothing is trusted, every field is checked where it is used.
 */

/** undefined when the text is not JSON. A byte-order mark (PowerShell) is ignored. */
export function parseJson(text: string): unknown {
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** ConvertTo-Json prints one object without brackets and many as an array. */
export function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value === null || value === undefined) return [];
  return [value];
}

export function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

export function asNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function asString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** PowerShell enums arrive as numbers; their names are accepted too, for PowerShell 7's -EnumsAsStrings. */
export function enumValue(value: unknown, names: readonly string[]): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const i = names.findIndex((n) => n.toLowerCase() === value.toLowerCase());
    return i >= 0 ? i : null;
  }
  return null;
}

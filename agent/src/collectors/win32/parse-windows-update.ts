import { asList, asRecord, asString, parseJson } from '../json.js';

/** Windows Update classification (category) GUIDs. */
export const SECURITY_UPDATES = '0fa1201d-4330-4fa8-8ae9-b877473b6441';
export const DEFINITION_UPDATES = 'e0789628-ce08-4437-be74-2495b842f43b';

export interface PendingWindowsUpdates {
  pending: number;
  security: number;
}

/**
 * The updates a Windows Update Agent search (`IsInstalled=0 and Type='Software'`) found,
 * as ConvertTo-Json of `{UpdateID, Title, MsrcSeverity, KBArticleIDs, CategoryIDs, …}`.
 * An update is a security update when Microsoft rated its severity or filed it under
 * Security Updates (cumulative updates often have no severity). Antivirus definition
 * updates arrive several times a day and are left out: the antivirus section reports
 * signature freshness. null when it is not that JSON.
 */
export function parseWindowsUpdateSearch(text: string): PendingWindowsUpdates | null {
  const doc = parseJson(text);
  if (doc === undefined) return null;
  let pending = 0;
  let security = 0;
  for (const item of asList(doc)) {
    const u = asRecord(item);
    if (!u || (typeof u.Title !== 'string' && typeof u.UpdateID !== 'string')) return null;
    const categories = asList(u.CategoryIDs).map((c) => String(c).toLowerCase());
    if (categories.includes(DEFINITION_UPDATES)) continue;
    pending += 1;
    const severity = asString(u.MsrcSeverity);
    if ((severity !== null && severity.trim() !== '') || categories.includes(SECURITY_UPDATES)) security += 1;
  }
  return { pending, security };
}

/**
 * `Get-HotFix | Select-Object HotFixID, Description, InstalledOn | ConvertTo-Json`: the
 * newest InstalledOn, epoch seconds. Windows PowerShell 5.1 writes a date as
 * `{"value": "/Date(ms)/", "DateTime": "<culture text>"}` (only `value` is read),
 * PowerShell 7 as ISO text. Rows without a date exist and are skipped; rows are not in
 * date order. Returns `{latest: null}` when no row has a date, null when it is not that
 * JSON (the culture-formatted table view included).
 */
export function parseHotFixJson(text: string): { latest: number | null } | null {
  const doc = parseJson(text);
  if (doc === undefined) return null;
  let latest: number | null = null;
  for (const item of asList(doc)) {
    const h = asRecord(item);
    // PowerShell property names ignore case, so JSON spells them as the script did (HotFixID, HotFixId).
    const field = (name: string) => (h ? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1] : undefined);
    if (typeof field('hotfixid') !== 'string') return null;
    const seconds = dateSeconds(field('installedon'));
    if (seconds !== null && (latest === null || seconds > latest)) latest = seconds;
  }
  return { latest };
}

function dateSeconds(value: unknown): number | null {
  const v = asRecord(value)?.value ?? value;
  if (typeof v !== 'string') return null;
  const ms = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(v)?.[1];
  const t = ms !== undefined ? Number(ms) : /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : NaN;
  return Number.isFinite(t) && t > 0 ? Math.floor(t / 1000) : null;
}

/** Helpers for the text some tools print, in whatever language the machine speaks. */

/** Lines without their line ends, for output written with \r\n (Windows) or \n. */
export function textLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
}

/**
 * Text folded for matching translated output: lower case, accents removed, and any
 * character still outside ASCII turned into `?`. Windows tools write in the console's
 * code page, which reaches us as U+FFFD replacement characters, so a pattern writes a
 * `.` wherever the original has an accented letter (`vollst.ndig`) and matches both the
 * well-decoded and the mangled text.
 */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\x00-\x7f]/g, '?');
}

/** "100,0 %", "3,5%", "35.00" → 100, 3.5, 35; null when not a number. */
export function parsePercent(text: string): number | null {
  const m = /(\d+(?:[.,]\d+)?)/.exec(text);
  if (!m) return null;
  const n = Number(m[1]!.replace(',', '.'));
  return Number.isFinite(n) && n >= 0 && n <= 100 ? n : null;
}

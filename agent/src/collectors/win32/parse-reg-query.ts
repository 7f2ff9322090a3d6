import { textLines } from '../text.js';

/** One registry value as `reg query` prints it. */
export interface RegValue {
  type: string;
  /** REG_DWORD / REG_QWORD as numbers, everything else as text. */
  value: string | number;
}

/**
 * `reg query KEY [/v NAME]`: the key's path, then `    Name    REG_TYPE    data` lines.
 * Value names and types are not translated. Names are returned lower-cased (the
 * registry ignores case).
 */
export function parseRegQuery(text: string): Map<string, RegValue> {
  const values = new Map<string, RegValue>();
  for (const line of textLines(text)) {
    const m = /^\s+(\S(?:.*?\S)?)\s+(REG_[A-Z_]+)\s*(.*?)\s*$/.exec(line) ?? /^(\S(?:.*?\S)?)\s+(REG_[A-Z_]+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const type = m[2]!;
    const data = m[3]!;
    const numeric = (type === 'REG_DWORD' || type === 'REG_QWORD') && /^0x[0-9a-f]+$/i.test(data);
    values.set(m[1]!.toLowerCase(), { type, value: numeric ? parseInt(data, 16) : data });
  }
  return values;
}

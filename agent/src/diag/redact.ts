/**
 * Removes secrets and serial numbers from probe output before it leaves the device in a
 * diagnostic bundle. The probes never ask for secrets (BitLocker protectors are read as
 * types only), so this is the second line of defence: anything that looks like a
 * recovery key, and the value of any field whose name says serial, password, token,
 * secret or hardware identity, is replaced.
 */
export const REDACTED = '<redacted>';

const SENSITIVE_KEY = /serial|password|passphrase|secret|token|recovery.?key|computer.?id|\bECID\b|platform.?uuid|hardware.?uuid|\budid\b/i;
/** BitLocker recovery password: eight groups of six digits. */
const BITLOCKER_RECOVERY = /\b\d{6}(?:-\d{6}){7}\b/g;
/** FileVault personal recovery key: six groups of four letters or digits. */
const FILEVAULT_RECOVERY = /\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){5}\b/g;
/** `"Key": "value"` in JSON. */
const JSON_FIELD = /"([^"\\\n]{1,80})"(\s*:\s*)"((?:[^"\\\n]|\\.)*)"/g;
/** `Key: value` / `Key = value` lines of text (plist dumps, bputil, system_profiler). */
const TEXT_FIELD = /^([ \t]*[^\n:="]{1,80}?)([ \t]*[:=][ \t]*)(\S[^\n]*)$/gm;

/** Flags and structure (`PasswordExists = 0;`, `FirmwarePasswordStatus = {`) hold no secret. */
function holdsValue(value: string): boolean {
  const v = value.replace(/[";,]+$/g, '').replace(/^"/, '').trim();
  if (v === '' || v.includes(REDACTED)) return false;
  return !/^([{(\[]|(0|1|true|false|yes|no|none|null|on|off|enabled|disabled)$)/i.test(v);
}

export interface Redacted {
  text: string;
  count: number;
}

export function redact(text: string): Redacted {
  let count = 0;
  const replace = (pattern: RegExp, s: string, fn: (...m: string[]) => string) =>
    s.replace(pattern, (...m: string[]) => {
      const out = fn(...m);
      if (out !== m[0]) count += 1;
      return out;
    });
  let out = replace(BITLOCKER_RECOVERY, text, () => REDACTED);
  out = replace(FILEVAULT_RECOVERY, out, () => REDACTED);
  out = replace(JSON_FIELD, out, (all, key, sep, value) => (SENSITIVE_KEY.test(key!) && holdsValue(value!) ? `"${key}"${sep}"${REDACTED}"` : all!));
  out = replace(TEXT_FIELD, out, (all, key, sep, value) => (SENSITIVE_KEY.test(key!) && holdsValue(value!) ? `${key}${sep}${REDACTED}` : all!));
  out = redactCsvColumns(out, () => (count += 1));
  return { text: out, count };
}

/** CSV (`wmic … /format:csv`): the values under a header column such as SerialNumber. */
function redactCsvColumns(text: string, counted: () => void): string {
  const lines = text.split('\n');
  let sensitive: number[] = [];
  let width = 0;
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i]!.split(',');
    if (fields.length < 3) continue;
    const columns = fields.map((f, n) => (SENSITIVE_KEY.test(f.trim()) && /^[A-Za-z_][A-Za-z0-9_ ]*$/.test(f.trim()) ? n : -1)).filter((n) => n >= 0);
    if (columns.length > 0) {
      sensitive = columns;
      width = fields.length;
      continue;
    }
    if (sensitive.length === 0 || fields.length !== width) continue;
    for (const n of sensitive) {
      if (fields[n]!.trim() !== '') {
        fields[n] = REDACTED;
        counted();
      }
    }
    lines[i] = fields.join(',');
  }
  return lines.join('\n');
}

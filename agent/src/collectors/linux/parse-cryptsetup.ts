/** `cryptsetup status <name>` (needs root). */
export interface CryptsetupStatus {
  active: boolean;
  /** `luks1`, `luks2`, `plain`, `bitlocker`, `tcrypt`…; null when the type line is missing. */
  method: string | null;
}

/** Device types as cryptsetup prints them, mapped to the method names the posture uses. */
const METHODS: Record<string, string> = { LUKS1: 'luks1', LUKS2: 'luks2', PLAIN: 'plain', BITLK: 'bitlocker', TCRYPT: 'tcrypt' };

/**
 * Forms: "… is active and is in use.", "… is active.", "… is inactive.", "Device x not
 * found"; `-v` appends "Command successful.". null for anything else.
 */
export function parseCryptsetupStatus(text: string): CryptsetupStatus | null {
  const head = /^\S.* is (active and is in use|active|inactive)\.\s*$/m.exec(text);
  if (!head) return null;
  const active = head[1] !== 'inactive';
  const type = /^\s+type:\s+(\S+)\s*$/m.exec(text)?.[1];
  const method = type ? (METHODS[type] ?? type.toLowerCase()) : null;
  return { active, method: active ? method : null };
}

/** The parts of a `cryptsetup luksDump <device>` header this agent reports. */
export interface LuksHeader {
  version: number;
  /** The drive's own OPAL encryption is used (`Subsystem: HW-OPAL`, `Requirements: opal`). */
  opal: boolean;
}

/**
 * `cryptsetup luksDump` (root). osquery's bundled libcryptsetup reads a LUKS2 header
 * with hardware OPAL as "not encrypted" (osquery#8402); it is LUKS2 all the same. null
 * when the text is not a LUKS header.
 */
export function parseLuksDump(text: string): LuksHeader | null {
  if (!/^LUKS header information\s*$/m.test(text)) return null;
  const version = Number(/^Version:\s*(\d+)\s*$/m.exec(text)?.[1]);
  if (!Number.isInteger(version)) return null;
  const opal = /^Subsystem:.*\bOPAL\b/im.test(text) || /^Requirements:.*\bopal\b/im.test(text);
  return { version, opal };
}

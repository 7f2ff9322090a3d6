/** Boot policy of an Apple silicon volume group (`bputil -d`), or of a T2 Mac (`AppleSecureBootPolicy`). */
export type BootPolicyMode = 'full' | 'reduced' | 'permissive' | 'medium' | 'none';

/** Weakest first: a policy is only as strong as the weakest one that can boot. */
const STRENGTH: Record<BootPolicyMode, number> = { none: 0, permissive: 1, medium: 2, reduced: 2, full: 3 };

export interface BputilPolicies {
  /** The security mode of each volume group that printed one. */
  modes: BootPolicyMode[];
  /** Volume groups bputil could not read. */
  failed: number;
}

/**
 * `bputil -d` (Apple silicon; run as root): a warning banner, then per volume group
 * `Local policy for volume group UUID:` and rows such as
 * `Security Mode:               Full       (smb0): absent`. null without any volume group.
 */
export function parseBputil(text: string): BputilPolicies | null {
  if (!/^Local policy for volume group /im.test(text)) return null;
  const modes: BootPolicyMode[] = [];
  for (const m of text.matchAll(/^Security Mode:\s+(Full|Reduced|Permissive)\b[^\n]*\(smb0\)/gim)) {
    modes.push(m[1]!.toLowerCase() as BootPolicyMode);
  }
  const failed = [...text.matchAll(/^Can't get local policy for Volume Group/gim)].length;
  return { modes, failed };
}

/** The weakest of several policies; null for none. */
export function weakestMode(modes: BootPolicyMode[]): BootPolicyMode | null {
  return modes.reduce<BootPolicyMode | null>((w, m) => (w === null || STRENGTH[m] < STRENGTH[w] ? m : w), null);
}

export const SECURE_BOOT_POLICY_VAR = '94b73556-2197-4702-82a8-3e1337dafbfb:AppleSecureBootPolicy';

/**
 * `nvram 94b73556-…:AppleSecureBootPolicy` on a T2 Mac: the name, a tab and `%02` (full),
 * `%01` (medium) or `%00` (none). null when it is not that line.
 */
export function parseT2SecureBootPolicy(text: string): BootPolicyMode | null {
  const m = /AppleSecureBootPolicy\s+%0([0-2])\s*$/m.exec(text);
  if (!m) return null;
  return (['none', 'medium', 'full'] as const)[Number(m[1])]!;
}

/** `csrutil status` (no root): System Integrity Protection. */
export function parseCsrutilStatus(text: string): 'enabled' | 'disabled' | 'custom' | null {
  const m = /System Integrity Protection status:\s*(enabled|disabled|unknown)\b([^\n]*)/i.exec(text);
  if (!m) return null;
  // "enabled (Custom Configuration)" has parts switched off: it is not fully enabled.
  if (/Custom Configuration/i.test(m[2]!) || m[1]!.toLowerCase() === 'unknown') return 'custom';
  return m[1]!.toLowerCase() as 'enabled' | 'disabled';
}

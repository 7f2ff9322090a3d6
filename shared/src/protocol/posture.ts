import { z } from 'zod';
import { postureContradictions, report } from './consistency.js';
import { numericDate, text as storableText } from './encoding.js';

/**
 * Posture: facts about the device, never judgements. Each section either carries
 * its facts (`status: "ok"`) or says why it could not be read (`status: "error"`).
 */
const text = storableText(512);
const errorSection = z.object({
  status: z.literal('error'),
  collected_at: numericDate,
  error: text,
});
function section<T extends z.ZodRawShape>(facts: T) {
  return z.discriminatedUnion('status', [
    z.object({ status: z.literal('ok'), collected_at: numericDate, ...facts }),
    errorSection,
  ]);
}

export const platform = z.enum(['linux', 'darwin', 'win32']);
export type Platform = z.infer<typeof platform>;

export const osSection = section({
  platform,
  /** Distribution or product identifier for policy: os-release ID (`debian`, `ubuntu`, `rhel`…), `macos`, `windows`. */
  id: text,
  name: text,
  version: text,
  build: text.nullable(),
  kernel: text,
  arch: text,
  /** macOS Rapid Security Response suffix (`(a)`), when one is applied; the build carries it too. */
  version_extra: text.optional(),
});

export const encryptionState = z.enum(['on', 'off', 'encrypting', 'decrypting', 'suspended', 'unknown']);
/**
 * Why a volume is in its state, when the state alone does not say what to do:
 * - `paused`: encryption or decryption stopped part-way (FileVault on battery, BitLocker paused);
 * - `deferred`: FileVault is set to turn on at the next login (`fdesetup enable -defer`);
 * - `waiting_for_activation`: BitLocker encrypted the disk with a clear key and has no protector yet;
 * - `hardware_only`: the disk is encrypted by the hardware (Apple silicon, T2) but FileVault is off,
 *   so anyone who can start the Mac can read it.
 */
export const encryptionDetail = z.enum(['paused', 'deferred', 'waiting_for_activation', 'hardware_only']);
export const volume = z.object({
  mount: text,
  encrypted: z.boolean(),
  /** `luks1`, `luks2`, `luks`, `filevault`, `bitlocker`, `zfs`, … or null when not encrypted. */
  method: text.nullable(),
  state: encryptionState,
  system: z.boolean().optional(),
  /** Percent of the encryption (or, when decrypting, of the decryption) done, when converting. */
  progress: z.number().min(0).max(100).optional(),
  detail: encryptionDetail.optional(),
});
export const diskEncryptionSection = section({ volumes: z.array(volume).max(256) });

export const firewallBackend = z.enum(['nftables', 'iptables', 'ufw', 'firewalld', 'alf', 'pf', 'windows', 'none']);
export const firewallSection = section({
  enabled: z.boolean(),
  backend: firewallBackend,
  profiles: z.array(z.object({ name: text, enabled: z.boolean() })).max(16),
});

/**
 * What `pending` and `pending_security` count, the same on every platform: `packages`, one
 * per item the platform's updater would install. apt and dnf/yum: a package (name and
 * architecture) with a newer version, once whatever number of advisories its newest
 * version fixes; softwareupdate: a product (each is one installer package); Windows
 * Update: an update (one update package, e.g. a KB). Advisories are not used: apt has
 * none offline, and an advisory count would exceed the pending packages it covers.
 */
export const pendingUnit = z.enum(['packages']);
export const patchesSection = section({
  pending: z.number().int().nonnegative(),
  pending_security: z.number().int().nonnegative(),
  /** The unit of both counts (see pendingUnit); absent from agents before it was named. */
  pending_security_unit: pendingUnit.optional(),
  last_installed_at: numericDate.nullable(),
  auto_updates: z.boolean().nullable(),
  source: text,
  /** When the pending list was last fetched, when older than the report (macOS's cached list). */
  checked_at: numericDate.optional(),
});

export const screenLockSection = section({
  enabled: z.boolean().nullable(),
  idle_minutes: z.number().nonnegative().nullable(),
  /** Whose setting this is: the user at the console, or a machine-wide policy that applies to every user. */
  scope: z.enum(['console_user', 'machine']).optional(),
});
export const secureBootSection = section({
  enabled: z.boolean(),
  /**
   * The platform's own name for the boot policy: Apple silicon `full`/`reduced`/`permissive`,
   * Intel T2 `full`/`medium`/`none`, Linux `shim_validation_disabled`, UEFI `setup`.
   */
  mode: text.optional(),
  /** macOS System Integrity Protection; `custom` when parts of it are switched off. */
  system_integrity_protection: z.enum(['enabled', 'disabled', 'custom']).optional(),
});
export const antivirusSection = section({
  active: z.boolean(),
  products: z.array(z.object({ name: text, enabled: z.boolean(), up_to_date: z.boolean().nullable() })).max(32),
});

export const posture = z
  .object({
    os: osSection,
    disk_encryption: diskEncryptionSection,
    firewall: firewallSection,
    patches: patchesSection,
    screen_lock: screenLockSection.optional(),
    secure_boot: secureBootSection.optional(),
    antivirus: antivirusSection.optional(),
  })
  .superRefine((p, ctx) => report(ctx, postureContradictions(p)));

export type Posture = z.infer<typeof posture>;
export type OsSection = z.infer<typeof osSection>;
export type DiskEncryptionSection = z.infer<typeof diskEncryptionSection>;
export type Volume = z.infer<typeof volume>;
export type FirewallSection = z.infer<typeof firewallSection>;
export type PatchesSection = z.infer<typeof patchesSection>;
export type ScreenLockSection = z.infer<typeof screenLockSection>;
export type SecureBootSection = z.infer<typeof secureBootSection>;
export type AntivirusSection = z.infer<typeof antivirusSection>;
export type SectionName = keyof Posture;
/** The facts of a section when it was read successfully. */
export type Ok<S> = Extract<S, { status: 'ok' }>;

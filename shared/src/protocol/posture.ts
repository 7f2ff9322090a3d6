import { z } from 'zod';
import { numericDate } from './encoding.js';

/**
 * Posture: facts about the device, never judgements. Each section either carries
 * its facts (`status: "ok"`) or says why it could not be read (`status: "error"`).
 */
const text = z.string().max(512);
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
});

export const encryptionState = z.enum(['on', 'off', 'encrypting', 'decrypting', 'suspended', 'unknown']);
export const volume = z.object({
  mount: text,
  encrypted: z.boolean(),
  /** `luks1`, `luks2`, `luks`, `filevault`, `bitlocker`, `zfs`, … or null when not encrypted. */
  method: text.nullable(),
  state: encryptionState,
  system: z.boolean().optional(),
});
export const diskEncryptionSection = section({ volumes: z.array(volume).max(256) });

export const firewallBackend = z.enum(['nftables', 'iptables', 'ufw', 'firewalld', 'alf', 'pf', 'windows', 'none']);
export const firewallSection = section({
  enabled: z.boolean(),
  backend: firewallBackend,
  profiles: z.array(z.object({ name: text, enabled: z.boolean() })).max(16),
});

export const patchesSection = section({
  pending: z.number().int().nonnegative(),
  pending_security: z.number().int().nonnegative(),
  last_installed_at: numericDate.nullable(),
  auto_updates: z.boolean().nullable(),
  source: text,
});

export const screenLockSection = section({
  enabled: z.boolean().nullable(),
  idle_minutes: z.number().nonnegative().nullable(),
});
export const secureBootSection = section({ enabled: z.boolean() });
export const antivirusSection = section({
  active: z.boolean(),
  products: z.array(z.object({ name: text, enabled: z.boolean(), up_to_date: z.boolean().nullable() })).max(32),
});

export const posture = z.object({
  os: osSection,
  disk_encryption: diskEncryptionSection,
  firewall: firewallSection,
  patches: patchesSection,
  screen_lock: screenLockSection.optional(),
  secure_boot: secureBootSection.optional(),
  antivirus: antivirusSection.optional(),
});

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

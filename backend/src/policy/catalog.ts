import type { z } from 'zod';
import { diskEncryptionSystemVolume, systemVolumeParams } from './checks/disk-encryption-system-volume.js';
import { firewallEnabled, firewallEnabledParams } from './checks/firewall-enabled.js';
import { osMinVersion, osMinVersionParams } from './checks/os-min-version.js';
import { maxPendingSecurityParams, patchesMaxPendingSecurity } from './checks/patches-max-pending-security.js';
import type { CatalogCheck } from './types.js';

interface Entry {
  check: CatalogCheck<never>;
  params: z.ZodType;
}

/** Every check a policy may name, with the schema of its parameters. */
export const catalog: ReadonlyMap<string, Entry> = new Map<string, Entry>([
  [osMinVersion.id, { check: osMinVersion, params: osMinVersionParams }],
  [diskEncryptionSystemVolume.id, { check: diskEncryptionSystemVolume, params: systemVolumeParams }],
  [firewallEnabled.id, { check: firewallEnabled, params: firewallEnabledParams }],
  [patchesMaxPendingSecurity.id, { check: patchesMaxPendingSecurity, params: maxPendingSecurityParams }],
]);

import { agentMinVersion } from './checks/agent-min-version.js';
import { antivirusActive } from './checks/antivirus-active.js';
import { diskEncryptionAllFixedVolumes } from './checks/disk-encryption-all-fixed-volumes.js';
import { diskEncryptionSystemVolume } from './checks/disk-encryption-system-volume.js';
import { firewallEnabled } from './checks/firewall-enabled.js';
import { osMinVersion } from './checks/os-min-version.js';
import { osSupported } from './checks/os-supported.js';
import { patchesAutoUpdates } from './checks/patches-auto-updates.js';
import { patchesMaxDaysSinceUpdate } from './checks/patches-max-days-since-update.js';
import { patchesMaxPendingSecurity } from './checks/patches-max-pending-security.js';
import { DEFAULT_MAX_AGE_S, reportMaxAge } from './checks/report-max-age.js';
import { screenLockMaxIdleMinutes } from './checks/screen-lock-max-idle-minutes.js';
import { secureBootEnabled } from './checks/secure-boot-enabled.js';
import type { CatalogCheck } from './types.js';

const checks = [
  osMinVersion,
  osSupported,
  diskEncryptionSystemVolume,
  diskEncryptionAllFixedVolumes,
  firewallEnabled,
  patchesMaxPendingSecurity,
  patchesMaxDaysSinceUpdate,
  patchesAutoUpdates,
  screenLockMaxIdleMinutes,
  secureBootEnabled,
  antivirusActive,
  agentMinVersion,
  reportMaxAge,
] as CatalogCheck[];

/** Every check a policy may name, by id. */
export const catalog: ReadonlyMap<string, CatalogCheck> = new Map(checks.map((c) => [c.id, c]));

/** When a policy does not list `report.max_age`, reports older than this make a device `unknown` (defined in checks/report-max-age.ts). */
export { DEFAULT_MAX_AGE_S };

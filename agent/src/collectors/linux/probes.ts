import { HOUR_MS, type PlatformProbes } from '../platform-probes.js';
import { linuxAntivirus } from './antivirus.js';
import { linuxDiskEncryption } from './disk-encryption.js';
import { linuxFirewall } from './firewall.js';
import { linuxOs } from './os.js';
import { linuxPatches } from './patches.js';
import { linuxScreenLock } from './screen-lock.js';
import { linuxSecureBoot } from './secure-boot.js';

/** Everything but the package manager is a file read or a quick command: read every time. */
export const linuxProbes: PlatformProbes = {
  os: { read: linuxOs, ttlMs: 0 },
  disk_encryption: { read: linuxDiskEncryption, ttlMs: 0 },
  firewall: { read: linuxFirewall, ttlMs: 0 },
  patches: { read: linuxPatches, ttlMs: HOUR_MS, slow: true },
  screen_lock: { read: linuxScreenLock, ttlMs: 0 },
  // Changes only with a reboot, which restarts the agent.
  secure_boot: { read: linuxSecureBoot, ttlMs: HOUR_MS },
  antivirus: { read: linuxAntivirus, ttlMs: 0 },
};

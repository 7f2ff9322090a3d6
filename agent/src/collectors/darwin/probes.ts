import { HOUR_MS, MINUTE_MS, type PlatformProbes } from '../platform-probes.js';
import { darwinAntivirus } from './antivirus.js';
import { darwinDiskEncryption } from './filevault.js';
import { darwinFirewall } from './firewall.js';
import { darwinOs } from './os.js';
import { darwinPatches } from './patches.js';
import { darwinScreenLock } from './screen-lock.js';
import { darwinSecureBoot } from './secure-boot.js';

export const darwinProbes: PlatformProbes = {
  os: { read: darwinOs, ttlMs: 0 },
  disk_encryption: { read: darwinDiskEncryption, ttlMs: 0 },
  firewall: { read: darwinFirewall, ttlMs: 0 },
  // softwareupdate --list asks Apple's servers.
  patches: { read: darwinPatches, ttlMs: 4 * HOUR_MS, slow: true },
  // Read in the console user's session through launchctl and sudo.
  screen_lock: { read: darwinScreenLock, ttlMs: 5 * MINUTE_MS },
  secure_boot: { read: darwinSecureBoot, ttlMs: HOUR_MS },
  antivirus: { read: darwinAntivirus, ttlMs: 0 },
};

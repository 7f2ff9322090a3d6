import { HOUR_MS, MINUTE_MS, type PlatformProbes } from '../platform-probes.js';
import { windowsAntivirus } from './antivirus.js';
import { windowsDiskEncryption } from './bitlocker.js';
import { windowsFirewall } from './firewall.js';
import { windowsOs } from './os.js';
import { windowsPatches } from './patches.js';
import { windowsScreenLock } from './screen-lock.js';
import { windowsSecureBoot } from './secure-boot.js';

/**
 * Every Windows probe starts PowerShell (a second of CPU), so only BitLocker and the
 * firewall, which users switch off, are read at every collection.
 */
export const win32Probes: PlatformProbes = {
  os: { read: windowsOs, ttlMs: HOUR_MS },
  disk_encryption: { read: windowsDiskEncryption, ttlMs: 0 },
  firewall: { read: windowsFirewall, ttlMs: 0 },
  // A Windows Update search asks Microsoft or WSUS.
  patches: { read: windowsPatches, ttlMs: 4 * HOUR_MS, slow: true },
  screen_lock: { read: windowsScreenLock, ttlMs: 5 * MINUTE_MS },
  secure_boot: { read: windowsSecureBoot, ttlMs: HOUR_MS },
  // Compiles a small P/Invoke declaration for Security Center's health.
  antivirus: { read: windowsAntivirus, ttlMs: 5 * MINUTE_MS },
};

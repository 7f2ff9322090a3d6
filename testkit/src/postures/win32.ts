import type { Posture } from '@postern/shared';
import type { PlatformPostureInput } from './options.js';
import { systemVolume } from './system-volume.js';

/** A Windows 11 Enterprise 24H2 laptop: BitLocker on C:, every firewall profile on. */
export function win32Posture({ now, failing }: PlatformPostureInput): Posture {
  return {
    os: { status: 'ok', collected_at: now, platform: 'win32', id: 'windows', name: 'Windows 11 Enterprise', version: '10.0.26100', build: '26100', kernel: '10.0.26100', arch: 'x64' },
    // Failing: BitLocker off on C:.
    disk_encryption: { status: 'ok', collected_at: now, volumes: [systemVolume('C:', 'bitlocker', failing.has('disk_encryption'))] },
    firewall: {
      status: 'ok',
      collected_at: now,
      enabled: true,
      backend: 'windows',
      // Failing: the Public profile off, the way Windows firewalls usually end up off.
      profiles: [
        { name: 'Domain', enabled: true },
        { name: 'Private', enabled: true },
        { name: 'Public', enabled: !failing.has('firewall') },
      ],
    },
    patches: { status: 'ok', collected_at: now, pending: 0, pending_security: 0, last_installed_at: now - 7200, auto_updates: true, source: 'windows_update' },
  };
}

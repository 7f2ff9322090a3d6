import type { Posture } from '@postern/shared';
import type { PlatformPostureInput } from './options.js';
import { systemVolume } from './system-volume.js';

/** An Ubuntu 24.04 laptop: LUKS2 root, nftables ruleset loaded, unattended-upgrades on. */
export function linuxPosture({ now, failing }: PlatformPostureInput): Posture {
  return {
    os: { status: 'ok', collected_at: now, platform: 'linux', id: 'ubuntu', name: 'Ubuntu', version: '24.04', build: null, kernel: '6.8.0-45-generic', arch: 'x64' },
    // Failing: a plain ext4 root, as lsblk shows it without a crypt layer.
    disk_encryption: { status: 'ok', collected_at: now, volumes: [systemVolume('/', 'luks2', failing.has('disk_encryption'))] },
    // Failing: an empty ruleset, as on a fresh install.
    firewall: { status: 'ok', collected_at: now, enabled: !failing.has('firewall'), backend: 'nftables', profiles: [] },
    patches: { status: 'ok', collected_at: now, pending: 3, pending_security: 0, last_installed_at: now - 86400, auto_updates: true, source: 'apt' },
  };
}

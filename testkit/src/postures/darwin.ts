import type { Posture } from '@postern/shared';
import type { PlatformPostureInput } from './options.js';
import { systemVolume } from './system-volume.js';

/** A MacBook on macOS 15.1 (Apple silicon): FileVault and the application firewall on. */
export function darwinPosture({ now, failing }: PlatformPostureInput): Posture {
  return {
    os: { status: 'ok', collected_at: now, platform: 'darwin', id: 'macos', name: 'macOS', version: '15.1', build: '24B83', kernel: '24.1.0', arch: 'arm64' },
    // Failing: FileVault off; Apple silicon still encrypts in hardware, which the collector reports.
    disk_encryption: { status: 'ok', collected_at: now, volumes: [systemVolume('/', 'filevault', failing.has('disk_encryption'), { detail: 'hardware_only' })] },
    firewall: { status: 'ok', collected_at: now, enabled: !failing.has('firewall'), backend: 'alf', profiles: [] },
    patches: { status: 'ok', collected_at: now, pending: 0, pending_security: 0, last_installed_at: now - 3600, auto_updates: true, source: 'softwareupdate' },
  };
}

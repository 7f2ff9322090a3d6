import type { Posture } from '@postern/shared';

/** Realistic postures, as the collectors report them, for server-side tests. */
export function healthyLinuxPosture(now = Math.floor(Date.now() / 1000)): Posture {
  return {
    os: { status: 'ok', collected_at: now, platform: 'linux', id: 'ubuntu', name: 'Ubuntu', version: '24.04', build: null, kernel: '6.8.0-45-generic', arch: 'x64' },
    disk_encryption: { status: 'ok', collected_at: now, volumes: [{ mount: '/', encrypted: true, method: 'luks2', state: 'on', system: true }] },
    firewall: { status: 'ok', collected_at: now, enabled: true, backend: 'nftables', profiles: [] },
    patches: { status: 'ok', collected_at: now, pending: 3, pending_security: 0, last_installed_at: now - 86400, auto_updates: true, source: 'apt' },
  };
}

export function unencryptedLinuxPosture(now = Math.floor(Date.now() / 1000)): Posture {
  const p = healthyLinuxPosture(now);
  return { ...p, disk_encryption: { status: 'ok', collected_at: now, volumes: [{ mount: '/', encrypted: false, method: null, state: 'off', system: true }] } };
}

export function healthyMacPosture(now = Math.floor(Date.now() / 1000)): Posture {
  return {
    os: { status: 'ok', collected_at: now, platform: 'darwin', id: 'macos', name: 'macOS', version: '15.1', build: '24B83', kernel: '24.1.0', arch: 'arm64' },
    disk_encryption: { status: 'ok', collected_at: now, volumes: [{ mount: '/', encrypted: true, method: 'filevault', state: 'on', system: true }] },
    firewall: { status: 'ok', collected_at: now, enabled: true, backend: 'alf', profiles: [] },
    patches: { status: 'ok', collected_at: now, pending: 0, pending_security: 0, last_installed_at: now - 3600, auto_updates: true, source: 'softwareupdate' },
  };
}

export function windowsPostureWithPublicFirewallOff(now = Math.floor(Date.now() / 1000)): Posture {
  return {
    os: { status: 'ok', collected_at: now, platform: 'win32', id: 'windows', name: 'Windows 11 Enterprise', version: '10.0.26100', build: '26100', kernel: '10.0.26100', arch: 'x64' },
    disk_encryption: { status: 'ok', collected_at: now, volumes: [{ mount: 'C:', encrypted: true, method: 'bitlocker', state: 'on', system: true }] },
    firewall: {
      status: 'ok',
      collected_at: now,
      enabled: true,
      backend: 'windows',
      profiles: [
        { name: 'Domain', enabled: true },
        { name: 'Private', enabled: true },
        { name: 'Public', enabled: false },
      ],
    },
    patches: { status: 'ok', collected_at: now, pending: 0, pending_security: 0, last_installed_at: now - 7200, auto_updates: true, source: 'windows_update' },
  };
}

/** The same posture with `pending` security updates waiting. */
export function withPendingSecurity(posture: Posture, pending: number): Posture {
  if (posture.patches.status !== 'ok') return posture;
  return { ...posture, patches: { ...posture.patches, pending: Math.max(posture.patches.pending, pending), pending_security: pending } };
}

/** The same posture with the optional screen-lock section. */
export function withScreenLock(posture: Posture, idleMinutes: number | null, enabled: boolean | null = true): Posture {
  return { ...posture, screen_lock: { status: 'ok', collected_at: posture.os.collected_at, enabled, idle_minutes: idleMinutes } };
}

import type { Posture } from '@postern/shared';

/**
 * A realistic posture of a healthy Ubuntu laptop, for tests of anything that
 * carries posture (evidence, the stream, the backend's policy).
 */
export function fakePosture(collectedAt = Math.floor(Date.now() / 1000)): Posture {
  return {
    os: {
      status: 'ok',
      collected_at: collectedAt,
      platform: 'linux',
      id: 'ubuntu',
      name: 'Ubuntu',
      version: '24.04',
      build: null,
      kernel: '6.8.0-49-generic',
      arch: 'x64',
    },
    disk_encryption: {
      status: 'ok',
      collected_at: collectedAt,
      volumes: [{ mount: '/', encrypted: true, method: 'luks2', state: 'on', system: true }],
    },
    firewall: { status: 'ok', collected_at: collectedAt, enabled: true, backend: 'nftables', profiles: [] },
    patches: {
      status: 'ok',
      collected_at: collectedAt,
      pending: 0,
      pending_security: 0,
      last_installed_at: collectedAt - 86_400,
      auto_updates: true,
      source: 'apt',
    },
  };
}

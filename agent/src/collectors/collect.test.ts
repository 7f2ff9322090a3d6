import { readFileSync } from 'node:fs';
import os from 'node:os';
import { posture, type Posture } from '@postern/shared';
import { describe, expect, it, vi } from 'vitest';
import { fixture } from '../../fixtures/load-fixture.js';
import { createCollector, NOT_SUPPORTED, postureChanged } from './collect.js';
import { LSBLK_JSON_ARGS } from './linux/disk-encryption.js';
import { parseEnvFile } from './linux/parse-env-file.js';
import {
  commandLine,
  liveProbeContext,
  recordedProbeContext,
  recordingProbeContext,
  RECORDING_DEFAULT_NOW,
  type ProbeContext,
  type ProbeRecording,
} from './probe.js';

vi.mock('systeminformation', () => {
  const osInfo = async () => ({ distro: 'macOS', release: '14.6.1', build: '23G93' });
  return { osInfo, default: { osInfo } };
});

const collected_at = RECORDING_DEFAULT_NOW / 1000;

/** A Debian 12 machine assembled from this development VM's captures. */
const debianVm: ProbeRecording = {
  kernel: '6.1.0-28-amd64',
  arch: 'x64',
  files: {
    '/etc/os-release': fixture('linux/os-release-debian-13.txt'),
    '/proc/self/mountinfo': fixture('linux/mountinfo-debian12-vm.txt'),
  },
  commands: {
    [commandLine('lsblk', LSBLK_JSON_ARGS)]: fixture('linux/lsblk-J-debian12-vm.txt'),
    'nft -j list ruleset': fixture('linux/nft-j-list-ruleset-empty-debian12-vm.txt'),
    'iptables -S': fixture('linux/iptables-S-accept-all-debian12-vm.txt'),
    'systemctl is-active firewalld': { code: 3, stdout: 'inactive\n', stderr: '' },
    'apt list --upgradable': fixture('linux/apt-list-upgradable-debian12-vm.txt'),
    'apt-config shell UU APT::Periodic::Unattended-Upgrade': '',
  },
};

/** A context whose clock a test moves, counting the commands it is asked to run. */
function steppedContext(recording: ProbeRecording) {
  const base = recordedProbeContext(recording);
  const state = { now: RECORDING_DEFAULT_NOW, calls: [] as string[] };
  const ctx: ProbeContext = {
    ...base,
    now: () => state.now,
    exec: (command, args, options) => {
      state.calls.push(commandLine(command, args));
      return base.exec(command, args, options);
    },
  };
  return { ctx, state };
}

describe('createCollector', () => {
  it('collects every section on Linux into a posture the shared schema accepts', async () => {
    const result = await createCollector({ ctx: recordedProbeContext(debianVm) }).collect();
    expect(posture.parse(result)).toEqual(result);
    expect(result).toEqual({
      os: {
        status: 'ok',
        collected_at,
        platform: 'linux',
        id: 'debian',
        name: 'Debian GNU/Linux',
        version: '13',
        build: null,
        kernel: '6.1.0-28-amd64',
        arch: 'x64',
      },
      disk_encryption: {
        status: 'ok',
        collected_at,
        volumes: [{ mount: '/', encrypted: false, method: null, state: 'off', system: true }],
      },
      firewall: {
        status: 'ok',
        collected_at,
        enabled: false,
        backend: 'none',
        profiles: [
          { name: 'iptables', enabled: false },
          { name: 'nftables', enabled: false },
        ],
      },
      patches: {
        status: 'ok',
        collected_at,
        pending: 136,
        pending_security: 81,
        last_installed_at: null,
        auto_updates: false,
        source: 'apt',
      },
    });
  });

  it('reuses the patches reading until its TTL has passed, re-reading the other sections every time', async () => {
    const { ctx, state } = steppedContext(debianVm);
    const collector = createCollector({ ctx, patchesTtlMs: 60_000 });
    const aptRuns = () => state.calls.filter((c) => c === 'apt list --upgradable').length;
    const lsblkRuns = () => state.calls.filter((c) => c.startsWith('lsblk')).length;

    const first = await collector.collect();
    state.now += 59_000;
    const second = await collector.collect();
    expect([aptRuns(), lsblkRuns()]).toEqual([1, 2]);
    // A reused reading keeps the time it was actually taken.
    expect(second.patches.collected_at).toBe(first.patches.collected_at);
    expect(second.os.collected_at).toBe(first.os.collected_at + 59);

    state.now += 1_000;
    await collector.collect();
    expect(aptRuns()).toBe(2);
  });

  it('retries a failed patches probe after five minutes rather than the full TTL', async () => {
    const { ctx, state } = steppedContext({ ...debianVm, commands: { ...debianVm.commands, 'apt list --upgradable': { code: 100, stdout: '', stderr: 'E: lock\n' } } });
    const collector = createCollector({ ctx });
    const aptRuns = () => state.calls.filter((c) => c === 'apt list --upgradable').length;
    expect((await collector.collect()).patches.status).toBe('error');
    state.now += 4 * 60_000;
    await collector.collect();
    expect(aptRuns()).toBe(1);
    state.now += 60_000;
    await collector.collect();
    expect(aptRuns()).toBe(2);
  });

  it('turns a probe that throws into an error section and keeps the other sections', async () => {
    const ctx = recordedProbeContext(debianVm);
    const broken: ProbeContext = {
      ...ctx,
      readFile: async (path) => {
        if (path === '/etc/os-release') throw new Error('disk on fire');
        return ctx.readFile(path);
      },
    };
    const result = await createCollector({ ctx: broken }).collect();
    expect(result.os).toEqual({ status: 'error', collected_at, error: 'internal error: disk on fire' });
    expect(result.disk_encryption.status).toBe('ok');
    expect(posture.parse(result)).toEqual(result);
  });

  it.each(['darwin', 'win32'] as const)('reports every section but os as not supported yet on %s', async (platform) => {
    const result = await createCollector({ ctx: recordedProbeContext({ platform, kernel: '23.6.0', arch: 'arm64' }) }).collect();
    expect(posture.parse(result)).toEqual(result);
    expect(result.os).toEqual({
      status: 'ok',
      collected_at,
      platform,
      id: platform === 'darwin' ? 'macos' : 'windows',
      name: 'macOS',
      version: '14.6.1',
      build: '23G93',
      kernel: '23.6.0',
      arch: 'arm64',
    });
    for (const name of ['disk_encryption', 'firewall', 'patches'] as const) {
      expect(result[name]).toEqual({ status: 'error', collected_at, error: NOT_SUPPORTED });
    }
  });

  it.runIf(process.platform === 'linux')(
    'collects this machine live: the schema accepts it, os facts match /etc/os-release, and a replay of the recording agrees',
    async () => {
      const { ctx, recording } = recordingProbeContext(liveProbeContext());
      const live = await createCollector({ ctx }).collect();
      expect(posture.parse(live)).toEqual(live);

      const osRelease = parseEnvFile(readFileSync('/etc/os-release', 'utf8'));
      expect(live.os).toMatchObject({ status: 'ok', platform: 'linux', id: osRelease.ID, name: osRelease.NAME, kernel: os.release(), arch: os.arch() });
      if (osRelease.VERSION_ID) expect(live.os).toMatchObject({ version: osRelease.VERSION_ID });
      if (live.disk_encryption.status === 'ok') {
        expect(live.disk_encryption.volumes.filter((v) => v.system).map((v) => v.mount)).toEqual(['/']);
      }

      const replayed = await createCollector({ ctx: recordedProbeContext(recording()) }).collect();
      expect(postureChanged(live, replayed)).toBe(false);
    },
    60_000,
  );
});

describe('postureChanged', () => {
  const base = (): Posture => ({
    os: { status: 'ok', collected_at: 100, platform: 'linux', id: 'debian', name: 'Debian', version: '12', build: null, kernel: '6.1', arch: 'x64' },
    disk_encryption: { status: 'ok', collected_at: 100, volumes: [{ mount: '/', encrypted: true, method: 'luks2', state: 'on', system: true }] },
    firewall: { status: 'ok', collected_at: 100, enabled: true, backend: 'nftables', profiles: [] },
    patches: { status: 'error', collected_at: 100, error: 'apt list timed out' },
  });

  it('ignores collected_at', () => {
    const later = base();
    for (const section of Object.values(later)) section.collected_at = 200;
    expect(postureChanged(base(), later)).toBe(false);
  });

  it('ignores the order of keys', () => {
    const reordered = base();
    reordered.os = { arch: 'x64', kernel: '6.1', build: null, version: '12', name: 'Debian', id: 'debian', platform: 'linux', collected_at: 5, status: 'ok' };
    expect(postureChanged(base(), reordered)).toBe(false);
  });

  it('sees a changed fact', () => {
    const changed = base();
    changed.firewall = { ...changed.firewall, enabled: false } as Posture['firewall'];
    expect(postureChanged(base(), changed)).toBe(true);
  });

  it('sees a section going from error to ok', () => {
    const changed = base();
    changed.patches = { status: 'ok', collected_at: 100, pending: 0, pending_security: 0, last_installed_at: null, auto_updates: null, source: 'apt' };
    expect(postureChanged(base(), changed)).toBe(true);
  });
});

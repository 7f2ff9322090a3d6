import { readFileSync } from 'node:fs';
import os from 'node:os';
import { posture, type Posture } from '@postern/shared';
import { describe, expect, it } from 'vitest';
import { debianVm, macBook, windowsLaptop } from '../../fixtures/devices.js';
import { createCollector, postureChanged, stillReading } from './collect.js';
import { parseEnvFile } from './linux/parse-env-file.js';
import { linuxProbes } from './linux/probes.js';
import {
  commandLine,
  liveProbeContext,
  recordedProbeContext,
  recordingProbeContext,
  RECORDING_DEFAULT_NOW,
  type ProbeContext,
  type ProbeRecording,
} from './probe.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const debian = debianVm();
/** Linux probes with a patches reading reused for one minute instead of an hour. */
const patchesEveryMinute = { ...linuxProbes, patches: { ...linuxProbes.patches, ttlMs: 60_000 } };

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
    const result = await createCollector({ ctx: recordedProbeContext(debian) }).collect();
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
        pending_security_unit: 'packages',
        last_installed_at: null,
        auto_updates: false,
        source: 'apt',
      },
      screen_lock: {
        status: 'error',
        collected_at,
        error: "cannot tell who is logged in at the screen: loginctl exited with code 1: System has not been booted with systemd as init system (PID 1). Can't operate.",
      },
      secure_boot: { status: 'error', collected_at, error: 'Secure Boot not supported on BIOS firmware: this machine did not boot through UEFI' },
      antivirus: { status: 'ok', collected_at, active: false, products: [] },
    });
  });

  it("collects every section on macOS from a MacBook's recorded answers", async () => {
    const result = await createCollector({ ctx: recordedProbeContext(macBook()) }).collect();
    expect(posture.parse(result)).toEqual(result);
    expect(result).toEqual({
      os: { status: 'ok', collected_at, platform: 'darwin', id: 'macos', name: 'macOS', version: '13.3.1', version_extra: '(a)', build: '22E772610a', kernel: '22.4.0', arch: 'arm64' },
      disk_encryption: { status: 'ok', collected_at, volumes: [{ mount: '/', encrypted: true, method: 'filevault', state: 'on', system: true }] },
      firewall: { status: 'ok', collected_at, enabled: true, backend: 'alf', profiles: [] },
      patches: { status: 'ok', collected_at, pending: 1, pending_security: 1, pending_security_unit: 'packages', last_installed_at: null, auto_updates: null, source: 'softwareupdate' },
      screen_lock: { status: 'ok', collected_at, enabled: true, idle_minutes: 10, scope: 'console_user' },
      secure_boot: { status: 'ok', collected_at, enabled: true, mode: 'full', system_integrity_protection: 'enabled' },
      antivirus: {
        status: 'ok',
        collected_at,
        active: true,
        products: [
          { name: 'XProtect', enabled: true, up_to_date: null },
          { name: 'Gatekeeper', enabled: true, up_to_date: null },
        ],
      },
    });
  });

  it("collects every section on Windows from a laptop's recorded answers", async () => {
    const result = await createCollector({ ctx: recordedProbeContext(windowsLaptop()) }).collect();
    expect(posture.parse(result)).toEqual(result);
    expect(result).toEqual({
      os: { status: 'ok', collected_at, platform: 'win32', id: 'windows', name: 'Windows 11 Enterprise', version: '10.0.26100.3000', build: '26100', kernel: '10.0.26100', arch: 'x64' },
      disk_encryption: {
        status: 'ok',
        collected_at,
        volumes: [
          { mount: 'C:', encrypted: true, method: 'bitlocker', state: 'on', system: true },
          { mount: 'E:', encrypted: false, method: null, state: 'off' },
        ],
      },
      firewall: {
        status: 'ok',
        collected_at,
        enabled: true,
        backend: 'windows',
        profiles: [
          { name: 'Domain', enabled: false },
          { name: 'Private', enabled: true },
          { name: 'Public', enabled: true },
        ],
      },
      patches: { status: 'ok', collected_at, pending: 6, pending_security: 2, pending_security_unit: 'packages', last_installed_at: Date.UTC(2020, 8, 9) / 1000, auto_updates: null, source: 'windows_update' },
      screen_lock: { status: 'ok', collected_at, enabled: true, idle_minutes: 10, scope: 'console_user' },
      secure_boot: { status: 'ok', collected_at, enabled: true },
      antivirus: { status: 'ok', collected_at, active: true, products: [{ name: 'Windows Defender', enabled: true, up_to_date: true }] },
    });
  });

  it('reuses the patches reading until its TTL has passed, re-reading the other sections every time', async () => {
    const { ctx, state } = steppedContext(debian);
    const collector = createCollector({ ctx, probes: patchesEveryMinute });
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
    const { ctx, state } = steppedContext({ ...debian, commands: { ...debian.commands, 'apt list --upgradable': { code: 100, stdout: '', stderr: 'E: lock\n' } } });
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
    const ctx = recordedProbeContext(debian);
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

  it('serves the last pending-updates reading while a new one runs, so a slow scan never holds a report', async () => {
    const { ctx, state } = steppedContext(debian);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowCtx: ProbeContext = {
      ...ctx,
      exec: async (command, args, options) => {
        if (command === 'apt' && state.calls.filter((c) => c.startsWith('apt ')).length > 0) await gate;
        return ctx.exec(command, args, options);
      },
    };
    const collector = createCollector({ ctx: slowCtx, probes: patchesEveryMinute });
    const first = await collector.collect();
    state.now += 61_000;
    const second = await collector.collect();
    expect(second.patches).toEqual(first.patches);
    release();
  });

  it('reports a slow section as still being read when its first reading outlasts the wait, then delivers it', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const base = recordedProbeContext(debian);
    const ctx: ProbeContext = { ...base, exec: async (c, a, o) => (c === 'apt' ? gate.then(() => base.exec(c, a, o)) : base.exec(c, a, o)) };
    const collector = createCollector({ ctx, slowFirstReadWaitMs: 20 });
    const first = await collector.collect();
    expect(first.patches).toEqual({ status: 'error', collected_at, error: stillReading('patches') });
    expect(first.os.status).toBe('ok');
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await collector.collect()).patches).toMatchObject({ status: 'ok', pending: 136 });
  });

  it('reads only the sections whose time has come: secure boot once an hour, the firewall and antivirus every time', async () => {
    const { ctx, state } = steppedContext(debian);
    const collector = createCollector({ ctx });
    await collector.collect();
    state.now += 60_000;
    await collector.collect();
    const runs = (prefix: string) => state.calls.filter((c) => c.startsWith(prefix)).length;
    expect({ nft: runs('nft '), ps: runs('ps '), mokutil: runs('mokutil ') }).toEqual({ nft: 2, ps: 2, mokutil: 1 });
    expect(linuxProbes.secure_boot.ttlMs).toBeGreaterThan(60_000);
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

describe('the shared posture schema', () => {
  it('still accepts postures of older agents, without the optional facts added for macOS and Windows', () => {
    const old: Posture = {
      os: { status: 'ok', collected_at: 100, platform: 'linux', id: 'debian', name: 'Debian', version: '12', build: null, kernel: '6.1', arch: 'x64' },
      disk_encryption: { status: 'ok', collected_at: 100, volumes: [{ mount: '/', encrypted: true, method: 'luks2', state: 'on', system: true }] },
      firewall: { status: 'ok', collected_at: 100, enabled: true, backend: 'nftables', profiles: [] },
      patches: { status: 'ok', collected_at: 100, pending: 0, pending_security: 0, last_installed_at: null, auto_updates: null, source: 'apt' },
      screen_lock: { status: 'ok', collected_at: 100, enabled: true, idle_minutes: 5 },
      secure_boot: { status: 'ok', collected_at: 100, enabled: true },
    };
    expect(posture.parse(old)).toEqual(old);
  });

  it('keeps the optional facts and refuses values outside them', () => {
    const volume = { mount: '/', encrypted: false, method: 'filevault', state: 'encrypting', progress: 35, detail: 'paused', system: true };
    const section = { status: 'ok', collected_at: 1, volumes: [volume] };
    expect(posture.shape.disk_encryption.parse(section)).toEqual(section);
    expect(posture.shape.disk_encryption.safeParse({ ...section, volumes: [{ ...volume, progress: 101 }] }).success).toBe(false);
    expect(posture.shape.disk_encryption.safeParse({ ...section, volumes: [{ ...volume, detail: 'sleepy' }] }).success).toBe(false);
  });
});

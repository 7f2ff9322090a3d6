import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { repoRoot } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

const exec = promisify(execFile);

/** A contractor's laptop: notify-only, so this machine's real posture cannot block it. */
const CONTRACTOR_POLICY = 'postern_policy: 1\ngroup: contractors\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 10\n    enforcement: notify\n';
// The shortest device TTL the server accepts (ADMIN_BOUNDS.deviceTtlS.min): the contract's end.
const DEVICE_TTL = '1m';

interface DeviceRow {
  device_id: string;
  status: string;
  group: string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Runs `line` as a person would paste it into a terminal (`script` gives it one), and types
 * `token` when the installer asks for it: the token goes through the terminal, nowhere else.
 */
function pasteIntoTerminal(line: string, token: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['--quiet', '--return', '--command', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let typed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (!typed && output.includes('Enrollment token for')) {
        typed = true;
        child.stdin.write(`${token}\n`);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}

describe('a contractor installs the agent with the one line the administrator sends', () => {
  let work: string;
  let server: ServerProcess;
  let packages: string;
  let serverLog = '';
  const admin = (args: string[]) => adminCli(server, args);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'postern-contractor-'));
    packages = join(work, 'packages');
    await mkdir(packages);
    // The server first: it starts in seconds on an idle machine, not while the build runs. It
    // reads the packages directory at each request, so the build may fill it afterwards.
    // Debug level: the access log names every request, so the test can look for the token in it.
    server = await ServerProcess.start('pglite', { POSTERN_PACKAGES_DIR: packages, POSTERN_LOG_LEVEL: 'debug' });
    for (const stream of [server.child.stdout, server.child.stderr]) stream?.on('data', (d: Buffer) => (serverLog += d.toString()));
    const built = await exec(process.execPath, [join(repoRoot, 'scripts', 'package.mjs'), '--targets', 'linux-x64', '--formats', 'tar', '--fast', '--out', packages], { timeout: 180_000 }).catch(
      (error: { stderr?: string }) => {
        throw new Error(`pnpm package failed: ${error.stderr ?? String(error)}`);
      },
    );
    expect(built.stdout).toContain('SHA256SUMS');
    await server.admin('POST', '/v1/admin/policies', { source: CONTRACTOR_POLICY, message: 'contractors: notify only' });
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pending → approved and allowed → expired at the end date: revoked, stream closed 4403, denied, device.revoked(expired)', async () => {
    // The administrator: a token for one contractor's device, waiting for approval, ending soon.
    const created = await admin(['token', 'create', '--group', 'contractors', '--approval', '--device-ttl', DEVICE_TTL, '--expires', '10m', '--install', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { token, install } = JSON.parse(created.stdout) as { token: string; install: { linux: string; macos: string; windows: string } };
    const lines = Object.values(install).join('\n');
    expect(lines).not.toContain(token);
    expect(install.linux).toBe(`curl -fsSL ${server.url}/install/linux.sh | sudo sh -s -- --server ${server.url}`);

    // The contractor pastes it (as root already, so without sudo; into a throwaway root), and types the token.
    const root = join(work, 'laptop');
    await mkdir(root);
    const line = `${install.linux.replace('| sudo sh', '| sh')} --root ${root}`;
    const installed = await pasteIntoTerminal(line, token);
    expect(installed.code, installed.output).toBe(0);
    expect(installed.output).toMatch(/Checksum of postern-agent-[^ ]+-linux-x64\.tar\.gz verified/);
    expect(installed.output).toContain('systemd is not running here: start the agent with');
    expect(installed.output).not.toContain(token);
    const bin = join(root, 'usr/bin/postern-agent');
    const state = join(root, 'var/lib/postern-agent');
    expect((await stat(bin)).mode & 0o777).toBe(0o755);
    expect((await stat(state)).mode & 0o777).toBe(0o700);
    expect((await stat(join(state, 'device-key.jwk'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'etc/systemd/system/postern-agent.service'))).isFile()).toBe(true);

    // The device waits for approval.
    const list = async () => (JSON.parse((await admin(['device', 'list', '--json'])).stdout) as { devices: DeviceRow[] }).devices;
    const [pending] = await list();
    expect(pending).toMatchObject({ group: 'contractors', status: 'pending_approval' });
    const deviceId = pending?.device_id ?? '';
    const approved = await admin(['device', 'approve', deviceId]);
    expect(approved.code, approved.stderr).toBe(0);

    // It runs as the installer said to start it, and the compliance API then lets it through.
    const authz = `${server.url}/v1/authz`;
    const forwardAuth = async () => {
      const made = await exec(bin, ['token', '--url', authz, '--json'], { env: { PATH: '/usr/bin:/bin', POSTERN_AGENT_STATE: state } });
      const { authorization, dpop } = JSON.parse(made.stdout) as { authorization: string; dpop: string };
      return fetch(authz, { headers: { authorization, dpop } });
    };
    const agent = spawn(bin, ['run'], { env: { PATH: '/usr/bin:/bin', POSTERN_AGENT_STATE: state }, stdio: ['ignore', 'pipe', 'pipe'] });
    let agentOutput = '';
    agent.stdout.on('data', (d: Buffer) => (agentOutput += d.toString()));
    agent.stderr.on('data', (d: Buffer) => (agentOutput += d.toString()));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    try {
      const key = await server.gatewayKey();
      const allowed = await until(
        'the compliance API to allow the device',
        async () => {
          const answer = await server.compliance(deviceId, key);
          return answer.status === 200 && answer.body.verdict === 'compliant' ? answer.body : undefined;
        },
        30_000,
      );
      expect(allowed).toMatchObject({ device_id: deviceId, verdict: 'compliant' });
      // And forward-auth lets it through with its result token and a DPoP proof, as a gateway asks.
      expect((await forwardAuth()).status).toBe(200);

      // At the end date the server revokes it by itself and closes its stream: the agent stops with 3.
      const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 90_000))]);
      expect(code, agentOutput).toBe(3);
      // Told by the expiry's event on its open stream (not by a refused report of its own)...
      expect(agentOutput).toContain("this device's enrollment has ended");
      expect(agentOutput).not.toContain('single-executable'); // no runtime warning from the packaging
    } finally {
      if (agent.exitCode === null) agent.kill('SIGTERM');
    }
    // ...which the server then closed with 4403.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^postern_stream_closed_total\{close_code="4403"\} [1-9]/m);
    const [expired] = (await list()) as Array<DeviceRow & { verdict: string; expires_at: number }>;
    expect(expired).toMatchObject({ device_id: deviceId, verdict: 'revoked' });
    expect(expired?.expires_at).toBeLessThanOrEqual(Date.now() / 1000);
    expect((await server.compliance(deviceId, await server.gatewayKey())).body).toMatchObject({ device_id: deviceId, verdict: 'revoked' });
    expect((await forwardAuth()).status).toBe(403);
    const { events } = await server.admin<{ events: Array<{ type: string; device_id?: string; data?: Record<string, unknown> } & Record<string, unknown>> }>('GET', '/v1/admin/events?type=device.revoked');
    expect(events).toEqual([expect.objectContaining({ type: 'device.revoked' })]);
    expect(JSON.stringify(events[0])).toContain('"reason":"expired"');
    expect(JSON.stringify(events[0])).toContain(deviceId);

    // The server logged the install requests, and never the token.
    expect(serverLog).toContain('/install/artefacts/');
    expect(serverLog).not.toContain(token);
  }, 180_000);

  it('installs nothing whose checksum does not match SHA256SUMS', async () => {
    const tampered = join(work, 'tampered');
    await mkdir(tampered);
    const [tarball] = (await readdir(packages)).filter((f) => f.endsWith('-linux-x64.tar.gz'));
    await copyFile(join(packages, tarball ?? ''), join(tampered, tarball ?? ''));
    await writeFile(join(tampered, 'SHA256SUMS'), `${'0'.repeat(64)}  ${tarball}\n`);
    const root = join(work, 'tampered-root');
    const installer = join(repoRoot, 'installers', 'linux', 'install.sh');
    const refused = await exec('sh', [installer, '--from', tampered, '--root', root, '--no-enroll']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code ?? 1, stderr: error.stderr ?? '' }),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${tarball} does not match its SHA256SUMS entry: not installing it`);
    await expect(stat(join(root, 'usr/bin/postern-agent'))).rejects.toThrow();

    // The same tarball with its real checksum installs.
    const accepted = await exec('sh', [installer, '--from', packages, '--root', root, '--no-enroll']);
    expect(accepted.stdout).toContain(`Checksum of ${tarball} verified`);
    expect((await stat(join(root, 'usr/bin/postern-agent'))).mode & 0o777).toBe(0o755);

    // And unpacked, its own install.sh installs the binary beside it, downloading nothing.
    const unpacked = join(work, 'unpacked');
    await mkdir(unpacked);
    await exec('tar', ['-xzf', join(packages, tarball ?? ''), '-C', unpacked]);
    const ownRoot = join(work, 'own-root');
    const own = await exec('sh', [join(unpacked, (tarball ?? '').replace(/\.tar\.gz$/, ''), 'install.sh'), '--root', ownRoot, '--no-enroll']);
    expect(own.stdout).toContain('Installing the agent from');
    expect((await stat(join(ownRoot, 'etc/systemd/system/postern-agent.service'))).isFile()).toBe(true);
    expect((await exec(join(ownRoot, 'usr/bin/postern-agent'), ['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  }, 60_000);
});

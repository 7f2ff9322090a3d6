import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { posture } from '@postern/shared';
import { adminCli } from '@postern/testkit/cli';
import { repoRoot } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

const exec = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(command, args, { timeout: 120_000, maxBuffer: 16 << 20, ...options });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const baseVersion = (JSON.parse(await readFile(join(repoRoot, 'agent', 'package.json'), 'utf8')) as { version: string }).version;

/** `pnpm package` for linux-x64, the .deb only, quickly compressed, as version `version`. */
async function buildDeb(out: string, version: string): Promise<string> {
  const built = await run(process.execPath, [join(repoRoot, 'scripts', 'package.mjs'), '--targets', 'linux-x64', '--formats', 'deb', '--fast', '--out', out], {
    env: { ...process.env, POSTERN_PACKAGE_VERSION: version },
    timeout: 180_000,
  });
  expect(built.code, built.stderr).toBe(0);
  const deb = join(out, `postern-agent_${version}_amd64.deb`);
  expect((await readFile(join(out, 'SHA256SUMS'), 'utf8')).split('\n')).toContain(`${(await run('sha256sum', [deb])).stdout.split(' ')[0]}  postern-agent_${version}_amd64.deb`);
  return deb;
}

/** An empty dpkg database under `root`, so `dpkg --root` installs there as on a fresh system. */
async function dpkgRoot(root: string): Promise<void> {
  const admin = join(root, 'var', 'lib', 'dpkg');
  for (const dir of ['info', 'updates', 'triggers']) await mkdir(join(admin, dir), { recursive: true });
  await writeFile(join(admin, 'status'), '');
  await writeFile(join(admin, 'available'), '');
}

/**
 * dpkg into a throwaway root. The maintainer scripts run outside it (there is no shell inside)
 * with DPKG_ROOT set, which they honour for every path; libc and friends are the host's, so
 * dependencies are not checked against the empty database.
 */
function dpkg(root: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], { env });
}

/** A PATH with every program of /usr/bin and /usr/sbin except Node.js and its package managers. */
async function pathWithoutNode(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const without = new Set(['node', 'nodejs', 'npm', 'npx', 'pnpm', 'pnpx', 'corepack', 'yarn', 'tsc', 'vitest']);
  for (const name of await readdir('/usr/bin')) if (!without.has(name)) await symlink(join('/usr/bin', name), join(bin, name));
  return `${bin}:/usr/sbin`;
}

describe('the Debian package', () => {
  const v1 = `${baseVersion}+test1`;
  const v2 = `${baseVersion}+test2`;
  let work: string;
  let debV1: string;
  let debV2: string;
  let server: ServerProcess;

  beforeAll(async () => {
    // The server first: it starts in seconds on an idle machine, not while two builds run.
    server = await ServerProcess.start('pglite');
    work = await mkdtemp(join(tmpdir(), 'postern-deb-test-'));
    debV1 = await buildDeb(join(work, 'v1'), v1);
    debV2 = await buildDeb(join(work, 'v2'), v2);
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('passes lintian with no errors and no warnings', async () => {
    const linted = await run('lintian', ['--tag-display-limit', '0', debV1], { timeout: 150_000 });
    const tags = linted.stdout.split('\n').filter((line) => /^[EW]: /.test(line));
    expect(tags, linted.stdout + linted.stderr).toEqual([]);
    expect(linted.code, linted.stderr).toBe(0);
  }, 160_000);

  it('installs the binary, unit, man page and copyright; the binary runs with no Node.js, pnpm or checkout', async () => {
    const root = join(work, 'plain-root');
    await dpkgRoot(root);
    const installed = await dpkg(root, ['-i', debV1]);
    expect(installed.code, installed.stderr).toBe(0);
    for (const file of ['usr/bin/postern-agent', 'lib/systemd/system/postern-agent.service', 'usr/share/man/man1/postern-agent.1.gz', 'usr/share/doc/postern-agent/copyright', 'usr/share/doc/postern-agent/changelog.gz']) {
      expect((await stat(join(root, file))).isFile(), file).toBe(true);
    }
    expect((await stat(join(root, 'var/lib/postern-agent'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(root, 'lib/systemd/system/postern-agent.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/postern-agent run$/m);

    // Away from the repository, with a PATH on which there is no node at all.
    const away = await mkdtemp(join(tmpdir(), 'postern-away-'));
    try {
      const agent = join(away, 'postern-agent');
      await copyFile(join(root, 'usr/bin/postern-agent'), agent);
      await chmod(agent, 0o755);
      const env = { PATH: await pathWithoutNode(away), HOME: away };
      expect((await run('sh', ['-c', 'command -v node'], { env })).code).not.toBe(0);
      expect((await run(agent, ['--version'], { env, cwd: away })).stdout.trim()).toBe(v1);
      const collected = await run(agent, ['collect', '--json'], { env, cwd: away });
      expect(collected.code, collected.stderr).toBe(0);
      const parsed = posture.safeParse(JSON.parse(collected.stdout));
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data?.os).toMatchObject({ status: 'ok', platform: 'linux' });
    } finally {
      await rm(away, { recursive: true, force: true });
    }

    const purged = await dpkg(root, ['--purge', 'postern-agent']);
    expect(purged.code, purged.stderr).toBe(0);
    await expect(stat(join(root, 'usr/bin/postern-agent'))).rejects.toThrow();
    await expect(stat(join(root, 'var/lib/postern-agent'))).rejects.toThrow();
  }, 60_000);

  describe('against a real server', () => {
    it('enrolls at install time from /etc/postern/enroll.env; an upgrade keeps the state, the key and the device', async () => {
      const root = join(work, 'enrolled-root');
      await dpkgRoot(root);
      const token = await server.enrollmentToken({ group: 'servers' });
      await mkdir(join(root, 'etc', 'postern'), { recursive: true });
      await writeFile(join(root, 'etc/postern/enroll.env'), `POSTERN_ENROLL_SERVER=${server.url}\nPOSTERN_ENROLL_TOKEN="${token}"\n`, { mode: 0o600 });

      const installed = await dpkg(root, ['-i', debV1]);
      expect(installed.code, installed.stderr).toBe(0);
      expect(installed.stdout + installed.stderr).not.toContain(token);
      // The used token does not stay on disk.
      await expect(stat(join(root, 'etc/postern/enroll.env'))).rejects.toThrow();
      const state = join(root, 'var/lib/postern-agent');
      const device = JSON.parse(await readFile(join(state, 'device.json'), 'utf8')) as { device_id: string };
      const key = await readFile(join(state, 'device-key.jwk'), 'utf8');
      const agent = (args: string[]) => run(join(root, 'usr/bin/postern-agent'), args, { env: { PATH: '/usr/bin:/bin', POSTERN_AGENT_STATE: state } });
      const first = await agent(['run', '--once']);
      expect(first.code, first.stderr).toBe(0);

      const upgraded = await dpkg(root, ['-i', debV2]);
      expect(upgraded.code, upgraded.stderr).toBe(0);
      expect(upgraded.stdout).toContain('already enrolled');
      expect((await agent(['--version'])).stdout.trim()).toBe(v2);
      expect(await readFile(join(state, 'device-key.jwk'), 'utf8')).toBe(key);
      expect(JSON.parse(await readFile(join(state, 'device.json'), 'utf8'))).toMatchObject({ device_id: device.device_id });
      const second = await agent(['run', '--once']);
      expect(second.code, second.stderr).toBe(0);

      const listed = await adminCli(server, ['device', 'list', '--json']);
      const { devices } = JSON.parse(listed.stdout) as { devices: Array<{ device_id: string; status: string; group: string; last_seen_at: number | null }> };
      expect(devices).toHaveLength(1);
      expect(devices[0]).toMatchObject({ device_id: device.device_id, status: 'active', group: 'servers' });
      expect(devices[0]?.last_seen_at).not.toBeNull();
    }, 90_000);
  });
});

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDevice } from '@postern/testkit/fake-device';
import { unencryptedLinuxPosture } from '@postern/testkit/postures';
import { freePort } from '@postern/testkit/free-port';
import { repoRoot } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

const nginxBinary = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/opt/homebrew/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);

describe('a real nginx using auth_request against postern-server', () => {
  let server: ServerProcess;
  let nginx: ChildProcess;
  let prefix: string;
  let base: string;

  beforeAll(async () => {
    if (!nginxBinary) throw new Error('nginx is not installed: apt-get install nginx (the test command installs it when run as root)');
    server = await ServerProcess.start('pglite');
    prefix = await mkdtemp(join(tmpdir(), 'postern-nginx-'));
    await mkdir(join(prefix, 'www/app'), { recursive: true });
    await mkdir(join(prefix, 'tmp'));
    await writeFile(join(prefix, 'www/app/data.txt'), 'quarterly numbers\n', { mode: 0o644 });
    // nginx workers drop to an unprivileged user, which must be able to read the site.
    for (const dir of [prefix, join(prefix, 'www'), join(prefix, 'www/app')]) await chmod(dir, 0o755);
    const port = await freePort();
    const template = await readFile(join(repoRoot, 'docs/gateways/nginx.conf'), 'utf8');
    const conf = template
      .replaceAll('{{prefix}}', prefix)
      .replaceAll('{{listen_port}}', String(port))
      .replaceAll('{{postern_host_port}}', new URL(server.url).host);
    await writeFile(join(prefix, 'nginx.conf'), conf);
    nginx = spawn(nginxBinary, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(`${base}/`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`nginx did not start: ${await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '')}`);
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await server?.stop();
    if (prefix) await rm(prefix, { recursive: true, force: true });
  });

  async function reported(posture?: Parameters<FakeDevice['report']>[1]) {
    const device = await FakeDevice.create();
    await device.enroll(server.url, await server.enrollmentToken());
    const { session, answer } = await device.report(server.url, posture);
    session.close();
    if (answer.type !== 'result') throw new Error('report refused');
    return { device, token: answer.token };
  }

  it('lets a compliant device through and tells the application who it is', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt`;
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('quarterly numbers\n');
    expect(response.headers.get('x-postern-device')).toBe(device.deviceId);
    expect(response.headers.get('x-postern-verdict')).toBe('compliant');
  });

  it('turns away a request without credentials with 401', async () => {
    expect((await fetch(`${base}/app/data.txt`)).status).toBe(401);
  });

  it('turns away a noncompliant device with 403', async () => {
    const { device, token } = await reported(unencryptedLinuxPosture());
    const url = `${base}/app/data.txt`;
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    expect(response.status).toBe(403);
  });

  it('refuses a proof made for another path behind the same gateway', async () => {
    const { device, token } = await reported();
    const response = await fetch(`${base}/app/data.txt`, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(`${base}/app/other`, token) } });
    expect(response.status).toBe(401);
  });
});

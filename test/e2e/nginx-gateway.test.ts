import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '@postern/agent';
import { unencryptedLinuxPosture } from '@postern/testkit/postures';
import { freePort } from '@postern/testkit/free-port';
import { repoRoot } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';
import { proofWithNonce, reportedDevice, stopGateway } from './gateway-fixtures.js';

const nginxBinary = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/opt/homebrew/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);

interface RunningNginx {
  child: ChildProcess;
  prefix: string;
  base: string;
}

/** docs/gateways/nginx.conf, as shipped, in front of `server`, serving a static site under /app/. */
async function startNginx(server: ServerProcess): Promise<RunningNginx> {
  if (!nginxBinary) throw new Error('nginx is not installed: apt-get install nginx (the test command installs it when run as root)');
  const prefix = await mkdtemp(join(tmpdir(), 'postern-nginx-'));
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
  const child = spawn(nginxBinary, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${base}/`);
      return { child, prefix, base };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nginx did not start: ${await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '')}`);
}

async function stopNginx(nginx: RunningNginx | undefined): Promise<void> {
  await stopGateway(nginx?.child, 'SIGQUIT');
  if (nginx) await rm(nginx.prefix, { recursive: true, force: true });
}

describe('a real nginx using auth_request against postern-server', () => {
  let server: ServerProcess;
  let nginx: RunningNginx;
  let base: string;

  beforeAll(async () => {
    server = await ServerProcess.start('pglite', { POSTERN_TRUST_PROXY: '1', POSTERN_GATEWAY: 'nginx' });
    nginx = await startNginx(server);
    base = nginx.base;
  });

  afterAll(async () => {
    await stopNginx(nginx);
    await server?.stop();
  });

  const reported = (posture?: Parameters<typeof reportedDevice>[1]) => reportedDevice(server, posture);

  it('lets a compliant device through and tells the application who it is', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt`;
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('quarterly numbers\n');
    expect(response.headers.get('x-postern-device')).toBe(device.deviceId);
    expect(response.headers.get('x-postern-verdict')).toBe('compliant');
  });

  it('turns away a request without credentials with 401 and passes on the bare DPoP challenge', async () => {
    const response = await fetch(`${base}/app/data.txt`);
    expect(response.status).toBe(401);
    expect(parseChallenge(response.headers.get('www-authenticate'))).toEqual({ scheme: 'DPoP', params: { algs: 'ES256' } });
  });

  it('turns away a noncompliant device with 403', async () => {
    const { device, token } = await reported(unencryptedLinuxPosture());
    const url = `${base}/app/data.txt`;
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    expect(response.status).toBe(403);
  });

  it('refuses a proof made for another path behind the same gateway, and a replayed one, naming invalid_dpop_proof', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt`;
    const elsewhere = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(`${base}/app/other`, token) } });
    expect(elsewhere.status).toBe(401);
    expect(parseChallenge(elsewhere.headers.get('www-authenticate'))).toEqual({ scheme: 'DPoP', params: { error: 'invalid_dpop_proof', error_description: `the DPoP proof is for ${base}/app/other, not ${url}`, algs: 'ES256' } });
    const headers = { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) };
    expect((await fetch(url, { headers })).status).toBe(200);
    const replay = await fetch(url, { headers });
    expect(replay.status).toBe(401);
    expect(parseChallenge(replay.headers.get('www-authenticate'))?.params).toMatchObject({ error: 'invalid_dpop_proof', error_description: expect.stringMatching(/already used/) });
  });

  it('ignores every forwarding header a client writes: nginx.conf sets or clears each one', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt`;
    const spoofedUrl = 'https://spoofed.example/app/data.txt';
    const spoofed = {
      'x-original-url': spoofedUrl,
      'x-original-uri': '/app/data.txt',
      'x-original-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'spoofed.example',
      'x-forwarded-uri': '/app/data.txt',
      'x-forwarded-method': 'GET',
    };
    const forSpoofed = await fetch(url, { headers: { ...spoofed, authorization: `DPoP ${token}`, dpop: await device.dpopProof(spoofedUrl, token) } });
    expect(forSpoofed.status).toBe(401);
    expect(parseChallenge(forSpoofed.headers.get('www-authenticate'))?.params.error_description).toBe(`the DPoP proof is for ${spoofedUrl}, not ${url}`);
    const honest = await fetch(url, { headers: { ...spoofed, authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    expect(honest.status).toBe(200);
    expect(await honest.text()).toBe('quarterly numbers\n');
  });
});

describe('a real nginx in front of postern-server asking for DPoP nonces', () => {
  let server: ServerProcess;
  let nginx: RunningNginx;

  beforeAll(async () => {
    server = await ServerProcess.start('pglite', { POSTERN_TRUST_PROXY: '1', POSTERN_GATEWAY: 'nginx', POSTERN_DPOP_NONCE: '1' });
    nginx = await startNginx(server);
  });

  afterAll(async () => {
    await stopNginx(nginx);
    await server?.stop();
  });

  it('passes the use_dpop_nonce challenge and its DPoP-Nonce on to the client, and lets the proof signed with it through', async () => {
    const { device, token } = await reportedDevice(server);
    const url = `${nginx.base}/app/data.txt`;
    const challenged = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    expect(challenged.status).toBe(401);
    expect(parseChallenge(challenged.headers.get('www-authenticate'))?.params).toMatchObject({ error: 'use_dpop_nonce', algs: 'ES256' });
    const nonce = challenged.headers.get('dpop-nonce') ?? '';
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{27}$/);
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, url, token, nonce) } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('quarterly numbers\n');
    // Every answer carries the nonce for the next proof (the same one, unless its window just ended).
    expect(response.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{27}$/);
  });
});

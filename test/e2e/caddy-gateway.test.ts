import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenge } from '@postern/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '@postern/testkit/cli';
import { FakeDevice } from '@postern/testkit/fake-device';
import { freePort } from '@postern/testkit/free-port';
import { agentBin, repoRoot } from '@postern/testkit/paths';
import { unencryptedLinuxPosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';
import { proofWithNonce, reportedDevice, stopGateway } from './gateway-fixtures.js';

const caddyBinary = ['/usr/bin/caddy', '/usr/local/bin/caddy', '/opt/homebrew/bin/caddy'].find((p) => spawnSync(p, ['version']).status === 0);

describe('a real Caddy using forward_auth against postern-server, which asks for DPoP nonces', () => {
  let server: ServerProcess;
  let caddy: ChildProcess;
  let app: Server;
  /** The headers the application behind Caddy was sent, newest last. */
  const appSaw: IncomingHttpHeaders[] = [];
  let prefix: string;
  let base: string;
  let caddyLog = '';

  beforeAll(async () => {
    if (!caddyBinary) throw new Error('caddy is not installed: apt-get install caddy (the test command installs it when run as root)');
    server = await ServerProcess.start('pglite', { POSTERN_TRUST_PROXY: '1', POSTERN_GATEWAY: 'caddy', POSTERN_DPOP_NONCE: '1' });
    app = createServer((req, res) => {
      appSaw.push(req.headers);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`quarterly numbers for ${req.headers['x-postern-device'] ?? 'nobody'}\n`);
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    prefix = await mkdtemp(join(tmpdir(), 'postern-caddy-'));
    const port = await freePort();
    const template = await readFile(join(repoRoot, 'docs/gateways/Caddyfile'), 'utf8');
    const conf = template
      .replaceAll('{{listen_port}}', String(port))
      .replaceAll('{{postern_host_port}}', new URL(server.url).host)
      .replaceAll('{{app_host_port}}', `127.0.0.1:${(app.address() as AddressInfo).port}`);
    await writeFile(join(prefix, 'Caddyfile'), conf);
    // Caddy keeps its state under HOME and XDG directories: the test's own, not the machine's.
    const env = { ...process.env, HOME: prefix, XDG_DATA_HOME: join(prefix, 'data'), XDG_CONFIG_HOME: join(prefix, 'config') };
    caddy = spawn(caddyBinary, ['run', '--config', join(prefix, 'Caddyfile'), '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    caddy.stderr?.on('data', (d: Buffer) => (caddyLog = (caddyLog + d.toString()).slice(-20_000)));
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${base}/`);
        return;
      } catch {
        if (caddy.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`caddy did not start:\n${caddyLog}`);
  });

  afterAll(async () => {
    await stopGateway(caddy, 'SIGTERM');
    if (app) await new Promise((resolve) => app.close(resolve));
    await server?.stop();
    if (prefix) await rm(prefix, { recursive: true, force: true });
  });

  const reported = (posture?: Parameters<typeof reportedDevice>[1]) => reportedDevice(server, posture);

  /** The nonce Postern asks for, as a client learns it: from a 401 passed back through Caddy. */
  async function askedNonce(device: FakeDevice, token: string, url: string): Promise<string> {
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, url, token, null) } });
    expect(response.status).toBe(401);
    expect(parseChallenge(response.headers.get('www-authenticate'))).toEqual({
      scheme: 'DPoP',
      params: { error: 'use_dpop_nonce', error_description: expect.stringMatching(/has no nonce/), algs: 'ES256' },
    });
    const nonce = response.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{27}$/);
    return nonce ?? '';
  }

  it('asks for a nonce first, then lets a compliant device through and tells the application who it is', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt?q=1`;
    const nonce = await askedNonce(device, token, url);
    // A client copy of the header Caddy passes on is replaced by Postern's answer.
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, url, token, nonce), 'x-postern-device': 'forged' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`quarterly numbers for ${device.deviceId}\n`);
    expect(appSaw.at(-1)).toMatchObject({ 'x-postern-device': device.deviceId, 'x-postern-verdict': 'compliant', 'x-postern-score': '100' });
  });

  it('turns away a request without credentials with a bare DPoP challenge', async () => {
    const response = await fetch(`${base}/app/data.txt`);
    expect(response.status).toBe(401);
    expect(parseChallenge(response.headers.get('www-authenticate'))).toEqual({ scheme: 'DPoP', params: { algs: 'ES256' } });
  });

  it('turns away a noncompliant device with 403 and the problem details naming what to fix', async () => {
    const { device, token } = await reported(unencryptedLinuxPosture());
    const url = `${base}/app/data.txt`;
    const nonce = await askedNonce(device, token, url);
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, url, token, nonce) } });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as { code: string; verdict: string; device_id: string; failing: Array<{ id: string; remediation: string }> };
    expect(body).toMatchObject({ code: 'not_compliant', verdict: 'noncompliant', device_id: device.deviceId });
    expect(body.failing).toEqual([expect.objectContaining({ id: 'disk_encryption.system_volume', remediation: expect.stringMatching(/LUKS/) })]);
  });

  it('refuses a replayed proof and a proof for another path with invalid_dpop_proof', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt`;
    const nonce = await askedNonce(device, token, url);
    const headers = { authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, url, token, nonce) };
    expect((await fetch(url, { headers })).status).toBe(200);
    const replay = await fetch(url, { headers });
    expect(replay.status).toBe(401);
    expect(parseChallenge(replay.headers.get('www-authenticate'))).toEqual({ scheme: 'DPoP', params: { error: 'invalid_dpop_proof', error_description: expect.stringMatching(/already used/), algs: 'ES256' } });
    const elsewhere = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, `${base}/app/other`, token, nonce) } });
    expect(elsewhere.status).toBe(401);
    expect(parseChallenge(elsewhere.headers.get('www-authenticate'))?.params.error).toBe('invalid_dpop_proof');
  });

  it('ignores the forwarding headers a client writes: the proof is checked against the request Caddy saw', async () => {
    const { device, token } = await reported();
    const url = `${base}/app/data.txt`;
    const spoofedUrl = 'https://spoofed.example/app/data.txt';
    const spoofed = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'spoofed.example',
      'x-forwarded-uri': '/app/data.txt',
      'x-forwarded-method': 'GET',
      'x-original-url': spoofedUrl,
      'x-original-method': 'GET',
    };
    const nonce = await askedNonce(device, token, url);
    const forSpoofed = await fetch(url, { headers: { ...spoofed, authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, spoofedUrl, token, nonce) } });
    expect(forSpoofed.status).toBe(401);
    expect(await forSpoofed.json()).toMatchObject({ code: 'invalid_dpop_proof', detail: `the DPoP proof is for ${spoofedUrl}, not ${url}` });
    const honest = await fetch(url, { headers: { ...spoofed, authorization: `DPoP ${token}`, dpop: await proofWithNonce(device, url, token, nonce) } });
    expect(honest.status).toBe(200);
  });

  describe('the real agent', () => {
    let state: string;
    const agent = (args: string[]) => cli(agentBin, [...args, '--state', state]);

    beforeAll(async () => {
      state = await mkdtemp(join(tmpdir(), 'postern-caddy-agent-'));
      // This machine's posture is whatever it is: a policy that only notifies lets it pass.
      await server.admin('POST', '/v1/admin/policies', {
        source: 'postern_policy: 1\ngroup: gateway-e2e\nchecks:\n  - id: firewall.enabled\n    severity: low\n    weight: 1\n    enforcement: notify\n',
        filename: 'gateway-e2e.yaml',
        message: 'notify only',
      });
      const enrolled = await agent(['enroll', '--server', server.url, '--token', await server.enrollmentToken({ group: 'gateway-e2e' })]);
      expect(enrolled.code, enrolled.stderr).toBe(0);
      const once = await agent(['run', '--once']);
      expect(once.code, once.stderr).toBe(0);
    });
    afterAll(async () => {
      if (state) await rm(state, { recursive: true, force: true });
    });

    it('fetches through Caddy, answering the nonce challenge on its own, and prints the body', async () => {
      const fetched = await agent(['fetch', `${base}/app/report.txt`, '-H', 'X-Request-Note: from the agent']);
      expect(fetched.code, fetched.stderr).toBe(0);
      const deviceId = appSaw.at(-1)?.['x-postern-device'];
      expect(fetched.stdout).toBe(`quarterly numbers for ${deviceId}\n`);
      expect(appSaw.at(-1)).toMatchObject({ 'x-request-note': 'from the agent', 'x-postern-verdict': 'compliant' });
    });

    it('prints the refusal body, the status on stderr, and exits 3 once the device is revoked', async () => {
      const deviceId = String(appSaw.at(-1)?.['x-postern-device']);
      await server.admin('POST', `/v1/admin/devices/${deviceId}/revoke`);
      const fetched = await agent(['fetch', `${base}/app/report.txt`]);
      expect(fetched.code).toBe(3);
      expect(JSON.parse(fetched.stdout)).toMatchObject({ code: 'not_compliant', verdict: 'revoked', device_id: deviceId });
      expect(fetched.stderr).toMatch(new RegExp(`^postern-agent: GET ${base}/app/report.txt answered HTTP 403 Forbidden: device .* is revoked.*\\(not_compliant\\)\\n$`));
    });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli, cli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { agentBin } from '@postern/testkit/paths';
import { unencryptedLinuxPosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';

describe.each(databaseKinds)('the "your device" page on %s', (kind) => {
  let server: ServerProcess;
  let linksUrl: string;

  beforeAll(async () => {
    server = await ServerProcess.start(kind);
    linksUrl = `${server.url}/v1/my-device/links`;
  });
  afterAll(() => server?.stop());

  /** A device that enrolled and reported `posture`, so the server holds its verdict. */
  async function reportedDevice(posture = unencryptedLinuxPosture()): Promise<FakeDevice> {
    const device = await FakeDevice.create({ platform: posture.os.status === 'ok' ? posture.os.platform : 'linux' });
    await device.enroll(server.url, await server.enrollmentToken());
    const { session, answer } = await device.report(server.url, posture);
    session.close();
    if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
    return device;
  }

  /** Asks for a page link as the agent does: a fresh nonce, and a DPoP proof whose ath is its hash. */
  async function askForLink(device: FakeDevice, o: { deviceId?: string; proof?: (nonce: string) => Promise<string> } = {}) {
    const { nonce } = (await (await fetch(`${server.url}/v1/nonce`)).json()) as { nonce: string };
    const proof = await (o.proof ?? ((n) => device.dpopProof(linksUrl, n, { method: 'POST' })))(nonce);
    const response = await fetch(linksUrl, { method: 'POST', headers: { 'content-type': 'application/json', dpop: proof }, body: JSON.stringify({ device_id: o.deviceId ?? device.deviceId, nonce }) });
    return { status: response.status, body: (await response.json()) as { url?: string; expires_at?: number; code?: string; detail?: string } };
  }

  it('shows the device its verdict and, for each failing check, what to do, under a strict CSP', async () => {
    const device = await reportedDevice();
    const { status, body } = await askForLink(device);
    expect(status).toBe(201);
    expect(body.url).toMatch(new RegExp(`^${server.url}/my-device\\?t=pdl_[0-9a-f]{32}_[0-9a-f]{64}$`));
    expect(body.expires_at).toBeGreaterThan(Date.now() / 1000 + 14 * 60);

    const page = await fetch(body.url ?? '');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(device.hostname);
    expect(html).toContain('This device is noncompliant');
    expect(html).toContain('disk_encryption.system_volume');
    // The policy's remediation for Linux, as the check carries it.
    const detail = (await server.admin<{ checks: Array<{ id: string; remediation: string | null }> }>('GET', `/v1/admin/devices/${device.deviceId}`)).checks.find((c) => c.id === 'disk_encryption.system_volume');
    expect(detail?.remediation).toBeTruthy();
    expect(html).toContain(escapeHtml(detail?.remediation ?? ''));
  });

  it('shows one device only: another device’s link shows that device, and no link shows none', async () => {
    const mine = await reportedDevice();
    const theirs = await reportedDevice();
    const html = await (await fetch((await askForLink(mine)).body.url ?? '')).text();
    expect(html).toContain(mine.hostname);
    expect(html).not.toContain(theirs.hostname);

    const bare = await fetch(`${server.url}/my-device`);
    expect(bare.status).toBe(200);
    const help = await bare.text();
    expect(help).toContain('postern-agent status');
    expect(help).not.toContain(mine.hostname);
    const forged = await fetch(`${server.url}/my-device?t=pdl_${'0'.repeat(32)}_${'0'.repeat(64)}`);
    expect(forged.status).toBe(401);
    expect(await forged.text()).toContain('postern-agent status');
  });

  it('gives a link only for a proof signed by the device’s own key, once, with a fresh nonce', async () => {
    const device = await reportedDevice();
    const other = await reportedDevice();
    // Another device's key, asking for this device's page.
    const foreign = await askForLink(other, { deviceId: device.deviceId });
    expect(foreign).toMatchObject({ status: 401, body: { code: 'invalid_dpop_proof' } });
    // The same proof twice.
    const { nonce } = (await (await fetch(`${server.url}/v1/nonce`)).json()) as { nonce: string };
    const proof = await device.dpopProof(linksUrl, nonce, { method: 'POST' });
    const send = () => fetch(linksUrl, { method: 'POST', headers: { 'content-type': 'application/json', dpop: proof }, body: JSON.stringify({ device_id: device.deviceId, nonce }) });
    expect((await send()).status).toBe(201);
    const replay = await send();
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ code: 'invalid_dpop_proof', detail: expect.stringContaining('already used') });
    // A proof bound to another nonce than the one sent.
    const unbound = await askForLink(device, { proof: () => device.dpopProof(linksUrl, 'B'.repeat(43), { method: 'POST' }) });
    expect(unbound).toMatchObject({ status: 401, body: { code: 'invalid_dpop_proof', detail: expect.stringContaining('ath') } });
    // A nonce the server never issued.
    const forgedNonce = await fetch(linksUrl, { method: 'POST', headers: { 'content-type': 'application/json', dpop: await device.dpopProof(linksUrl, 'A'.repeat(43), { method: 'POST' }) }, body: JSON.stringify({ device_id: device.deviceId, nonce: 'A'.repeat(43) }) });
    expect(forgedNonce.status).toBe(400);
    expect(await forgedNonce.json()).toMatchObject({ code: 'stale_nonce' });
  });

  it('is where the forward-auth refusal sends the person, with how to get there', async () => {
    const device = await reportedDevice();
    const { session, answer } = await device.report(server.url, unencryptedLinuxPosture());
    session.close();
    if (answer.type !== 'result') throw new Error('report refused');
    const authz = `${server.url}/v1/authz`;
    const denied = await fetch(authz, { headers: { authorization: `DPoP ${answer.token}`, dpop: await device.dpopProof(authz, answer.token) } });
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as { help_url: string };
    expect(body.help_url).toBe(`${server.url}/my-device`);
    expect(await (await fetch(body.help_url)).text()).toContain('run <code>postern-agent status</code>');
  });

  it('is printed by `postern-agent status` of a real agent, and shows that device', async () => {
    const state = await mkdtemp(join(tmpdir(), 'postern-my-device-'));
    try {
      const agent = (args: string[]) => cli(agentBin, [...args, '--state', state]);
      const token = JSON.parse((await adminCli(server, ['token', 'create', '--group', 'employees', '--json'])).stdout) as { token: string };
      expect((await agent(['enroll', '--server', server.url, '--token', token.token])).code).toBe(0);
      const once = await agent(['run', '--once']);
      expect(once.code, once.stderr).toBe(0);
      const status = await agent(['status']);
      const link = /^Details {3}(\S+)$/m.exec(status.stdout)?.[1];
      expect(link, status.stdout).toMatch(new RegExp(`^${server.url}/my-device\\?t=`));
      const { device_page: page, device } = JSON.parse((await agent(['status', '--json'])).stdout) as { device_page: { url: string }; device: { device_id: string } };
      expect(page.url).not.toBe(link);
      const shown = (await server.admin<{ hostname: string; verdict: string }>('GET', `/v1/admin/devices/${device.device_id}`));
      const html = await (await fetch(link ?? '')).text();
      expect(html).toContain(`<h1>${escapeHtml(shown.hostname)}</h1>`);
      expect(html).toContain(`This device is ${shown.verdict}`);
      expect((await agent(['status', '--no-link'])).stdout).not.toContain('Details');
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

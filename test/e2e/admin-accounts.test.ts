import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli, cli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { serverBin } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

/** Opens a sign-in link and sends its page's form, as a browser does: the GET leaves the link whole, the POST spends it. */
async function spendLink(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const page = await fetch(url, { headers });
  expect(page.status).toBe(200);
  const secret = /name="t" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  return fetch(new URL('link', url), { method: 'POST', redirect: 'manual', headers: { ...headers, origin: new URL(url).origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t: secret }) });
}

const POLICY = 'postern_policy: 1\ngroup: employees\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 20\n    enforcement: block\n';

describe.each(databaseKinds)('named admins with roles on %s', (kind) => {
  let server: ServerProcess;
  const tokens: Record<string, string> = {};

  /** `postern-server ARGS` with one admin's own token, as that admin would run it from elsewhere. */
  const as = (name: string, args: string[]) => cli(serverBin, [...args, '--server', server.url], { POSTERN_ADMIN_TOKEN: tokens[name] });
  const call = (name: string, method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${tokens[name]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  beforeAll(async () => {
    server = await ServerProcess.start(kind);
    for (const [name, role] of [['vera', 'viewer'], ['otto', 'operator'], ['ada', 'admin']] as const) {
      const created = await adminCli(server, ['admin', 'create', name, role, '--email', `${name}@example.com`]);
      expect(created.stdout).toBe(`created ${name} <${name}@example.com>: ${role}\n`);
      const token = await adminCli(server, ['admin', 'token', 'create', '--admin', name, '--name', 'laptop']);
      expect(token.code).toBe(0);
      tokens[name] = token.stdout.trim();
    }
  });
  afterAll(() => server?.stop());

  it('lists the accounts with their roles, the first admin among them, and shows a token once only', async () => {
    const list = await adminCli(server, ['admin', 'list', '--json']);
    const { admins } = JSON.parse(list.stdout) as { admins: Array<{ name: string; role: string; disabled: boolean; email: string | null }> };
    expect(admins.map((a) => [a.name, a.role, a.disabled])).toEqual([
      ['initial', 'admin', false],
      ['vera', 'viewer', false],
      ['otto', 'operator', false],
      ['ada', 'admin', false],
    ]);
    expect(tokens.vera).toMatch(/^pat_[0-9a-f]{32}_[0-9a-f]{64}$/);
    // Nothing that lists accounts or audits their making shows a token again.
    const audit = await adminCli(server, ['audit', 'list', '--kind', 'admin_token.', '--json']);
    expect(audit.stdout).toContain('admin_token.created');
    expect(`${list.stdout}${audit.stdout}`).not.toContain(tokens.vera?.slice(-64));
  });

  it('lets a viewer read but not change policy, with a code and a sentence that says which role it needs', async () => {
    expect((await call('vera', 'GET', '/v1/admin/devices')).status).toBe(200);
    expect((await call('vera', 'GET', '/v1/admin/policies')).status).toBe(200);
    const refused = await call('vera', 'POST', '/v1/admin/policies', { source: POLICY, message: 'tighten' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'insufficient_role', role: 'viewer', required: 'admin', detail: expect.stringMatching(/vera has the role viewer.*needs admin/) });
    const fromCli = await as('vera', ['gateway-key', 'create', '--name', 'mine']);
    expect(fromCli.code).toBe(1);
    expect(fromCli.stderr).toMatch(/needs admin/);
  });

  it('lets an operator act on devices and grant exceptions, not make tokens, and records every change under its own name', async () => {
    const device = await FakeDevice.create();
    const token = await server.enrollmentToken({ approval: true });
    await device.enroll(server.url, token);
    expect((await call('vera', 'POST', `/v1/admin/devices/${device.deviceId}/approve`)).status).toBe(403);
    const approved = await as('otto', ['device', 'approve', device.deviceId]);
    expect(approved.stdout).toContain('is now active');
    const exception = await call('otto', 'POST', `/v1/admin/devices/${device.deviceId}/exceptions`, { check: 'firewall.enabled', until: Math.floor(Date.now() / 1000) + 3600, reason: 'field repair' });
    expect(exception.status).toBe(201);
    expect(await exception.json()).toMatchObject({ granted_by: 'admin:otto' });
    expect((await call('otto', 'POST', '/v1/admin/enrollment-tokens', { group: 'employees' })).status).toBe(403);
    expect((await call('ada', 'POST', '/v1/admin/policies', { source: POLICY, message: 'tighten' })).status).toBe(201);

    const audit = await adminCli(server, ['audit', 'list', '--device', device.deviceId, '--json']);
    const entries = (JSON.parse(audit.stdout) as { entries: Array<{ actor: string; kind: string }> }).entries;
    expect(entries).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'admin:otto', kind: 'device.approved' }), expect.objectContaining({ actor: 'admin:otto', kind: 'exception.granted' })]));
    const policy = await adminCli(server, ['audit', 'list', '--actor', 'admin:ada', '--json']);
    expect((JSON.parse(policy.stdout) as { entries: Array<{ kind: string }> }).entries.map((e) => e.kind)).toContain('policy.applied');
  });

  it('changes a role at once, and a disabled admin’s tokens stop working while the last admin cannot be disabled', async () => {
    const promoted = await adminCli(server, ['admin', 'set-role', 'vera', 'operator']);
    expect(promoted.stdout).toBe('vera <vera@example.com>: operator\n');
    expect((await call('vera', 'POST', '/v1/admin/devices/00000000-0000-4000-8000-000000000000/revoke')).status).toBe(404);

    expect((await adminCli(server, ['admin', 'disable', 'vera'])).stdout).toBe('vera <vera@example.com>: operator, disabled\n');
    const refused = await call('vera', 'GET', '/v1/admin/devices');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'unauthorized', detail: expect.stringContaining('vera is disabled') });
    expect((await adminCli(server, ['admin', 'enable', 'vera'])).code).toBe(0);
    expect((await call('vera', 'GET', '/v1/admin/devices')).status).toBe(200);

    // ada and initial are the admins: one may go, not both.
    expect((await as('ada', ['admin', 'set-role', 'initial', 'viewer'])).code).toBe(0);
    const last = await as('ada', ['admin', 'disable', 'ada']);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last enabled admin');
    expect((await as('ada', ['admin', 'set-role', 'initial', 'admin'])).code).toBe(0);
  });

  it('refuses a role that does not exist and a name already taken, as usage and conflict', async () => {
    const badRole = await adminCli(server, ['admin', 'create', 'zed', 'superuser']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/viewer, operator, admin/);
    const taken = await adminCli(server, ['admin', 'create', 'ada', 'viewer']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('exists already');
  });

  it('makes a sign-in link for another admin only as an admin, and signs the browser in as that admin', async () => {
    const denied = await as('otto', ['admin', 'sign-in-link', '--name', 'ada']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('needs the role admin');
    const own = await as('otto', ['admin', 'sign-in-link']);
    const redeemed = await spendLink(own.stdout.trim());
    const cookie = (redeemed.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const session = await fetch(`${server.url}/v1/admin/session`, { headers: { cookie } });
    expect(await session.json()).toMatchObject({ name: 'otto', email: 'otto@example.com', role: 'operator' });
  });
});

describe('the session cookie behind a TLS proxy trusted with POSTERN_TRUST_PROXY', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start('pglite', { POSTERN_TRUST_PROXY: '1' });
  });
  afterAll(() => server?.stop());

  it('is Secure when the proxy says the browser came over https, and not when it came over http', async () => {
    for (const [proto, secure] of [['https', true], ['http', false]] as const) {
      const link = await adminCli(server, ['admin', 'sign-in-link']);
      const response = await spendLink(link.stdout.trim(), { 'x-forwarded-proto': proto });
      expect(response.status).toBe(303);
      expect((response.headers.getSetCookie()[0] ?? '').toLowerCase().split('; ').includes('secure')).toBe(secure);
    }
  });
});

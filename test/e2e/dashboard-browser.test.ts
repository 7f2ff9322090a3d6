import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { FakeDevice, type StreamSession } from '@postern/testkit/fake-device';
import { repoRoot } from '@postern/testkit/paths';
import { fakePosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';

const ARTIFACTS = join(repoRoot, 'test/artifacts/dashboard');
const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, headless, talking to nothing but the server under test. */
async function launchChromium(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('the dashboard in a real browser', () => {
  let server: ServerProcess;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let device: FakeDevice;
  let session: StreamSession;
  /** An SSF push receiver that refuses every SET, so its stream shows as failing. */
  let receiver: Server;
  /** What the page reported that it should not have: CSP violations, script errors, failed requests. */
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** Opens a sign-in link the CLI prints, as the admin would from a chat message or a terminal. */
  async function signInAs(name: string, next = '/'): Promise<void> {
    const made = await adminCli(server, ['admin', 'sign-in-link', '--name', name, '--next', next]);
    expect(made.code, made.stderr).toBe(0);
    await page.goto(made.stdout.trim());
    await expect.poll(() => page.getByTestId('who').textContent()).toMatch(new RegExp(`^${name} \\(`));
  }

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    server = await ServerProcess.start('pglite', { POSTERN_SSF_PUSH_ALLOW_HOSTS: '127.0.0.1', POSTERN_SSF_MAX_ATTEMPTS: '1' });
    profile = await mkdtemp(join(tmpdir(), 'postern-chromium-'));
    context = await launchChromium(profile);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('console', (message) => {
      // A refused request is logged by the browser too; refusals are judged by the response below.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
    });
    page.on('response', (response) => {
      // Asking who is signed in is answered 401 before sign-in; the viewer's refused policy change is the test's own.
      const refusalTested = response.status() === 403 && response.url().endsWith('/v1/admin/policies');
      if (response.status() >= 400 && !response.url().endsWith('/v1/admin/session') && !refusalTested) problems.push(`${response.status()} ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // The live feed's fetch is cancelled on navigation: that is not a failure.
      if (!request.url().includes('/v1/admin/fleet/events')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`);
    });
    // Nothing may leave the machine: every request goes to the server under test.
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith('blob:')) problems.push(`request off the server: ${request.url()}`);
    });
    for (const [name, role] of [['olga', 'operator'], ['vic', 'viewer']]) expect((await adminCli(server, ['admin', 'create', name as string, role as string])).code).toBe(0);
    device = await FakeDevice.create({ platform: 'linux' });
    expect((await device.enroll(server.url, await server.enrollmentToken({ group: 'employees' }))).status).toBe(201);
    ({ session } = await device.report(server.url, fakePosture({ platform: 'linux' })));
    expect((await adminCli(server, ['device', 'set-change-ref', device.deviceId, 'CHG-7781'])).code).toBe(0);
  });
  afterAll(async () => {
    session?.close();
    await context?.close();
    await server?.stop();
    receiver?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('serves the client under a strict CSP, hashed assets for a year, index.html revalidated, client routes as the app', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'; style-src 'self'/);
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? '';
    const js = await fetch(`${server.url}${asset}`);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${server.url}${asset}`, { headers: { 'if-none-match': js.headers.get('etag') ?? '' } })).status).toBe(304);
    const route = await fetch(`${server.url}/devices/${device.deviceId}`);
    expect(route.status).toBe(200);
    expect(await route.text()).toBe(html);
    const api404 = await fetch(`${server.url}/v1/nothing-here`);
    expect(api404.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await fetch(`${server.url}/assets/nothing.js`)).status).toBe(404);
  });

  it('signs an operator in through a sign-in link and shows the enrolled device on the overview and in the device list', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in to Postern' }).waitFor();
    await shot('sign-in');
    await signInAs('olga');
    expect(await page.getByTestId('who').textContent()).toBe('olga (operator)');
    await expect.poll(() => page.getByTestId('total-devices').textContent()).toBe('1');
    await expect.poll(() => page.getByTestId('count-compliant').locator('.tile-n').textContent()).toBe('1');
    await page.locator('.chart canvas').waitFor();
    // A device enrolled while the overview is open is counted without a reload.
    await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));
    const newcomer = await FakeDevice.create({ platform: 'darwin' });
    expect((await newcomer.enroll(server.url, await server.enrollmentToken({ group: 'employees' }))).status).toBe(201);
    await expect.poll(() => page.getByTestId('total-devices').textContent()).toBe('2');
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shot('overview');
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('link', { name: device.hostname }).waitFor();
    await page.getByLabel('Search').fill(device.hostname.slice(0, 8));
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('device-total').textContent()).toMatch(/^1 device/);
    await page.getByLabel('Verdict').selectOption('noncompliant');
    await expect.poll(() => page.getByTestId('device-total').textContent()).toMatch(/^0 devices/);
    await page.getByLabel('Verdict').selectOption('compliant');
    await expect.poll(() => page.getByTestId('device-total').textContent()).toMatch(/^1 device/);
    await shot('devices');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const csv = await readFile((await (await download).path()) ?? '', 'utf8');
    expect(csv.split('\r\n')[1]).toMatch(new RegExp(`^${device.deviceId},${device.hostname},`));
  });

  it('changes the verdict on the open device page live when the device reports its firewall off', async () => {
    await page.getByRole('link', { name: device.hostname }).click();
    await page.getByRole('heading', { name: new RegExp(device.hostname) }).waitFor();
    expect(await page.locator('h1 .badge').textContent()).toBe('compliant');
    // A marker that a reload would wipe: the change must arrive without one.
    await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));
    await page.locator('.live.on').waitFor();
    const answer = await session.attest(await device.evidence(session.nonce, { posture: fakePosture({ platform: 'linux', failing: ['firewall'] }) }));
    expect(answer.type).toBe('result');
    const expected = (answer as { verdict?: string }).verdict;
    expect(expected).not.toBe('compliant');
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 5000 }).toBe(expected);
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.locator('.check-fail', { hasText: 'firewall' }).locator('.remediation').waitFor();
    await shot('device-firewall-off');
  });

  it('extends the device\'s access after a confirmation with a reason: the end date shown changes', async () => {
    expect(await page.getByTestId('device-ends').textContent()).toBe('never');
    await page.getByRole('button', { name: 'Extend' }).click();
    const dialog = page.getByRole('dialog');
    const end = new Date(Date.now() + 45 * 86_400_000);
    const day = `${end.getFullYear()}-${String(end.getMonth() + 1).padStart(2, '0')}-${String(end.getDate()).padStart(2, '0')}`;
    await dialog.getByLabel('New end date').fill(day);
    await dialog.getByRole('button', { name: 'Extend' }).click();
    await dialog.getByText(/a reason is required/).waitFor();
    await dialog.getByLabel('Reason (required)').fill('contract runs to the end of next month');
    await shot('device-extend-dialog');
    await dialog.getByRole('button', { name: 'Extend' }).click();
    await expect.poll(() => page.getByTestId('device-ends').textContent()).not.toBe('never');
    const shown = await page.getByTestId('device-ends').textContent();
    expect(shown).toContain(String(end.getFullYear()));
    const listed = JSON.parse((await adminCli(server, ['device', 'show', device.deviceId])).stdout) as { expires_at: number };
    expect(new Date(listed.expires_at * 1000).toDateString()).toBe(end.toDateString());
    await page.locator('.timeline', { hasText: 'device.extended' }).waitFor();
    await shot('device-extended');
  });

  it('grants an exception for the failing check after a confirmation with a reason', async () => {
    await page.getByRole('button', { name: 'Grant exception' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Check').selectOption({ label: 'firewall.enabled (fail)' });
    await dialog.getByLabel('For how many hours').fill('48');
    await dialog.getByLabel('Reason (required)').fill('firewall vendor fix lands on Friday');
    await shot('device-exception-dialog');
    await dialog.getByRole('button', { name: 'Grant exception' }).click();
    await page.locator('.check', { hasText: 'firewall' }).locator('.badge.exception').waitFor();
    await shot('device-exception');
  });

  it('revokes the device after a confirmation that requires a reason', async () => {
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await dialog.getByText(/a reason is required/).waitFor();
    await dialog.getByLabel('Reason (required)').fill('laptop reported stolen');
    await shot('device-revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.getByTestId('device-status').textContent()).toBe('revoked');
    await expect.poll(() => page.locator('h1 .badge').textContent()).toBe('revoked');
    await shot('device-revoked');
  });

  it('finds the device by a prefix of its change reference, in any case', async () => {
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByLabel('Search').fill('chg-778');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('device-total').textContent()).toMatch(/^1 device$/);
    const row = page.locator('tbody tr', { hasText: 'CHG-7781' });
    await row.getByRole('link', { name: device.hostname }).waitFor();
    await page.getByLabel('Search').fill('CHG-779');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('device-total').textContent()).toMatch(/^0 devices$/);
    await page.getByLabel('Search').fill('CHG-77');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('device-total').textContent()).toMatch(/^1 device$/);
    await shot('devices-change-ref');
  });

  it('refuses a viewer a policy change: no Apply in the page, and the API answers insufficient_role', async () => {
    await signInAs('vic', '/policies');
    await page.getByTestId('apply-needs-admin').waitFor();
    expect(await page.getByRole('button', { name: 'Apply…' }).count()).toBe(0);
    // The same request the Apply button makes, from the viewer's page with its session and CSRF token.
    const refused = await page.evaluate(async () => {
      const session = (await (await fetch('/v1/admin/session')).json()) as { csrf: string };
      const response = await fetch('/v1/admin/policies', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf },
        body: JSON.stringify({ source: 'postern_policy: 1\ngroup: employees\nchecks: []\n', message: 'not mine to change' }),
      });
      return { status: response.status, body: (await response.json()) as { code: string } };
    });
    expect(refused).toMatchObject({ status: 403, body: { code: 'insufficient_role' } });
    await shot('policies-viewer');
  });

  it('shows the policies with a diff, dry-runs a pasted draft and applies it as an admin', async () => {
    await signInAs('initial', '/policies');
    await page.getByTestId('active-policies').getByText('default@1').waitFor();
    await page.getByRole('button', { name: /Show default@1/ }).click();
    await page.getByTestId('policy-diff').waitFor();
    const draft = 'postern_policy: 1\ngroup: employees\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 20\n    enforcement: block\n';
    await page.getByLabel('Policy source (YAML or JSON)').fill(draft);
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByTestId('dry-run').waitFor();
    expect(await page.getByTestId('dry-run').textContent()).toMatch(/for group employees: of \d+ devices/);
    await shot('policies');
    await page.getByRole('button', { name: 'Apply…' }).click();
    await page.getByRole('dialog').getByLabel('Reason (required)').fill('employees: the firewall blocks');
    await page.getByRole('dialog').getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('status').filter({ hasText: 'Applied employees@1' }).waitFor();
    await page.getByRole('button', { name: /Show employees@1/ }).click();
    await page.getByTestId('policy-diff').getByText('enforcement: block').waitFor();
    await shot('policies-applied');
  });

  it('finds both changes in the audit log under the names of who made them, with the chain intact', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await expect.poll(() => page.getByTestId('chain-status').textContent()).toMatch(/^Intact: \d+ entries verified/);
    const table = page.getByTestId('audit-table');
    await table.locator('tr', { hasText: 'device.revoked' }).first().waitFor();
    expect(await table.locator('tr', { hasText: 'device.revoked' }).first().textContent()).toContain('admin:olga');
    expect(await table.locator('tr', { hasText: 'policy.applied' }).filter({ hasText: 'employees@1' }).first().textContent()).toContain('admin:initial');
    expect(await table.locator('tr', { hasText: 'admin:vic' }).filter({ hasText: 'policy.applied' }).count()).toBe(0);
    await shot('audit');
  });

  it('creates an enrollment token with its install lines, lists it without its secret and revokes it', async () => {
    await page.getByRole('link', { name: 'Enrollment' }).click();
    await page.getByLabel('Owner').fill('Grace Hopper');
    await page.getByLabel('Change reference').fill('CHG-9100');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token').first().textContent()) ?? '';
    expect(secret).toMatch(/^pet_/);
    // The lines `token create --install` prints, for this server, without the token.
    const linux = (await page.getByTestId('install-linux').textContent()) ?? '';
    expect(linux).toBe(`curl -fsSL ${server.url}/install/linux.sh | sudo sh -s -- --server ${server.url}`);
    expect(await page.getByTestId('install-windows').textContent()).toContain(`${server.url}/install/windows.ps1`);
    expect(await page.getByTestId('install-lines').textContent()).not.toContain(secret);
    await page.getByRole('button', { name: 'Copy the Linux install line' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(linux);
    const table = page.getByTestId('token-table');
    const row = table.locator('tr', { hasText: 'Grace Hopper' });
    await row.getByText('usable').waitFor();
    expect(await row.textContent()).toContain('CHG-9100');
    expect(await table.textContent()).not.toContain(secret);
    await shot('enrollment');
    await row.getByRole('button', { name: /^Revoke token/ }).click();
    const dialog = page.getByRole('dialog');
    await shot('enrollment-revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    // Gone from the usable tokens; listed as revoked, and by whom, with the others.
    await row.waitFor({ state: 'detached' });
    await page.getByLabel('also revoked, expired and used-up tokens').check();
    await row.getByText('revoked', { exact: true }).waitFor();
    expect(await row.textContent()).toContain('by admin:initial');
    await shot('enrollment-revoked');
  });

  it('creates a gateway key and shows every SSF stream with its delivery health', async () => {
    // A receiver sets up its streams through the SSF API with a key of scope ssf.
    const { key } = await server.admin<{ key: string }>('POST', '/v1/admin/gateway-keys', { name: 'siem-eu', scopes: ['ssf'] });
    const asReceiver = async (path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status, await response.clone().text()).toBeLessThan(300);
      return response.status === 204 ? {} : ((await response.json()) as { stream_id: string });
    };
    await asReceiver('/ssf/streams', { description: 'SIEM, polling' });
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/caep?tenant=acme`;
    const push = (await asReceiver('/ssf/streams', { description: 'IdP, pushed', delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: hook, authorization_header: 'Bearer idp-secret' } })) as { stream_id: string };
    // A verification SET goes out at once; the receiver refuses it, so the stream turns failing.
    await asReceiver('/ssf/verify', { stream_id: push.stream_id, state: 'browser-test' });
    await page.getByRole('link', { name: 'Gateways' }).click();
    const streams = page.getByTestId('ssf-streams');
    const polled = streams.locator('tr', { hasText: 'SIEM, polling' });
    await polled.getByText('delivering').waitFor();
    expect(await polled.textContent()).toContain('siem-eu');
    const pushed = streams.locator('tr', { hasText: 'IdP, pushed' });
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return pushed.locator('.badge').textContent();
      }, { timeout: 15_000, interval: 500 })
      .toMatch(/^failing since /);
    const text = (await pushed.textContent()) ?? '';
    expect(text).toContain(`127.0.0.1:${(receiver.address() as AddressInfo).port}`);
    expect(text).toMatch(/503/);
    expect(text).not.toContain('idp-secret');
    expect(text).not.toContain('tenant=acme');
    await shot('gateways-ssf');
    await page.getByLabel('Name').fill('edge-proxy');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText(/^pgk_/).waitFor();
    await shot('gateways');
  });

  it('reported no CSP violation, script error or request leaving the machine', () => {
    expect(problems).toEqual([]);
  });
});

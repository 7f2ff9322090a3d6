import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
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
    server = await ServerProcess.start('pglite');
    profile = await mkdtemp(join(tmpdir(), 'postern-chromium-'));
    context = await launchChromium(profile);
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
  });
  afterAll(async () => {
    session?.close();
    await context?.close();
    await server?.stop();
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

  it('creates an enrollment token and a gateway key', async () => {
    await page.getByRole('link', { name: 'Enrollment' }).click();
    await page.getByLabel('Owner').fill('Grace Hopper');
    await page.getByRole('button', { name: 'Create token' }).click();
    expect(await page.getByTestId('new-token').first().textContent()).toMatch(/^pet_/);
    await shot('enrollment');
    await page.getByRole('link', { name: 'Gateways' }).click();
    await page.getByLabel('Name').fill('edge-proxy');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText(/^pgk_/).waitFor();
    await shot('gateways');
  });

  it('reported no CSP violation, script error or request leaving the machine', () => {
    expect(problems).toEqual([]);
  });
});

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createAdmin } from '../accounts/accounts.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

describe.each(databaseKinds)('signing in with a sign-in link on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let adminToken: string;

  beforeAll(async () => {
    database = await testDatabase(kind);
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false }, { log: createLogger('silent') });
    adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
    await createAdmin(server.store.db, { name: 'sam', email: null, role: 'operator', actor: 'postern' });
  });
  afterAll(async () => {
    await server?.close();
    await database?.cleanup();
  });

  /** A link as `postern-server admin sign-in-link --name` makes it: the URL and its secret. */
  async function makeLink(name: string, next = '/devices'): Promise<{ url: string; secret: string }> {
    const response = await fetch(`${server.url}/v1/admin/sign-in-links`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, next }) });
    expect(response.status).toBe(201);
    const { url } = (await response.json()) as { url: string };
    return { url, secret: new URL(url).searchParams.get('t') ?? '' };
  }
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/auth/link`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const form = (secret: string) => new URLSearchParams({ t: secret }).toString();
  const sessionCookie = (response: Response) => (response.headers.getSetCookie().find((c) => c.startsWith('postern_session=')) ?? '').split(';')[0] ?? '';
  const whoIs = async (cookie: string) => (await fetch(`${server.url}/v1/admin/session`, { headers: { cookie } })).status;

  it('answers GET with a page that signs in by a POST of its form, under a CSP that allows no inline script', async () => {
    const { url, secret } = await makeLink('sam');
    expect(url).toBe(`${server.url}/auth/link?t=${secret}`);
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(page.headers.getSetCookie()).toEqual([]);
    expect(page.headers.get('cache-control')).toBe('no-store');
    // The page's form must carry its Origin, and the link must never leave in a Referer.
    expect(page.headers.get('referrer-policy')).toBe('strict-origin');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).toContain('<form id="sign-in" method="post" action="link">');
    expect(html).toContain(`<input type="hidden" name="t" value="${secret}">`);
    expect(html).toContain('<button type="submit">Sign in as sam</button>');
    expect(html).toContain('<meta name="referrer" content="strict-origin">');
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([expect.stringMatching(/^<script src="link\.js" integrity="sha256-[A-Za-z0-9+/]+=*">$/)]);
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
    expect(html).not.toMatch(/\son[a-z]+=/i);

    const script = await fetch(`${server.url}/auth/link.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const integrity = /integrity="(sha256-[^"]+)"/.exec(html)?.[1];
    expect(integrity).toBe(`sha256-${createHash('sha256').update(await script.text()).digest('base64')}`);
  });

  it('never spends the link on GET or HEAD, as a mail scanner or chat unfurler fetches it first', async () => {
    const { url, secret } = await makeLink('sam');
    for (let i = 0; i < 3; i++) {
      expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(url)).status).toBe(200);
    }
    const signedIn = await post(form(secret));
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/devices');
    expect(await whoIs(sessionCookie(signedIn))).toBe(200);
  });

  it('spends the link with the first POST only, then shows GET and POST a page saying it does not work', async () => {
    const { url, secret } = await makeLink('sam');
    expect((await post(form(secret), { origin: server.url })).status).toBe(303);
    const again = await post(form(secret), { origin: server.url });
    expect(again.status).toBe(401);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(await again.text()).toContain('postern-server admin sign-in-link');
    expect((await fetch(url)).status).toBe(401);
  });

  it("refuses a POST from another site's page or an opaque origin, and leaves the link whole", async () => {
    const { secret } = await makeLink('sam');
    for (const origin of ['https://evil.example', 'null', server.url.replace('127.0.0.1', 'localhost')]) {
      const refused = await post(form(secret), { origin });
      expect(refused.status).toBe(403);
      expect(refused.headers.getSetCookie()).toEqual([]);
    }
    expect((await post(form(secret), { origin: server.url })).status).toBe(303);
  });

  it('refuses a body that is not the form, or is too large, without spending the link', async () => {
    const { secret } = await makeLink('sam');
    expect((await post(JSON.stringify({ t: secret }), { 'content-type': 'application/json' })).status).toBe(400);
    expect((await post(`${form(secret)}&pad=${'x'.repeat(5000)}`)).status).toBe(400);
    expect((await post('')).status).toBe(400);
    expect((await post(form(secret))).status).toBe(303);
  });

  it("ends the browser's previous session when it signs in again", async () => {
    const first = sessionCookie(await post(form((await makeLink('sam')).secret)));
    expect(await whoIs(first)).toBe(200);
    const second = sessionCookie(await post(form((await makeLink('sam')).secret), { cookie: first }));
    expect(await whoIs(second)).toBe(200);
    expect(await whoIs(first)).toBe(401);
  });

  it('audits a link made for another admin: who made it for whom, never the link', async () => {
    const { secret } = await makeLink('sam', '/audit');
    const rows = await server.store.db.selectFrom('audit_log').select(['actor', 'kind', 'detail']).where('kind', '=', 'admin_sign_in_link.created').orderBy('id', 'desc').limit(1).execute();
    expect(rows).toEqual([{ actor: 'admin:initial', kind: 'admin_sign_in_link.created', detail: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), for: 'sam', next: '/audit', expires_at: expect.any(Number) } }]);
    expect(String(rows[0]?.detail.id).replaceAll('-', '')).toBe(secret.split('_')[1]);
    expect(JSON.stringify(rows)).not.toContain(secret.split('_')[2]);
  });
});

describe('the sign-in pages per address', () => {
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    database = await testDatabase('pglite');
    const { settingsFromEnv } = await import('../config.js');
    server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: undefined, publicUrl: undefined, trustProxy: false, settings: { ...settingsFromEnv({}), signInsPerMinute: 3 } },
      { log: createLogger('silent') },
    );
  });
  afterAll(async () => {
    await server?.close();
    await database?.cleanup();
  });

  it('answers 429 with Retry-After past POSTERN_SIGN_INS_PER_MINUTE, links and OpenID Connect starts counted together', async () => {
    const statuses = [];
    for (const path of ['/auth/link?t=nothing', '/auth/oidc/start', '/auth/link?t=nothing', '/auth/link?t=nothing', '/auth/oidc/start']) {
      const response = await fetch(`${server.url}${path}`, { redirect: 'manual' });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await response.text()).toContain('Too many sign-in attempts');
      }
    }
    // An unknown link is a 401 page, and no OpenID Connect provider is set up here (404).
    expect(statuses).toEqual([401, 404, 401, 429, 429]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '@postern/testkit/browser';
import { adminCli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { freePort } from '@postern/testkit/free-port';
import { startOidcProvider, type OidcPerson, type TestOidcProvider } from '@postern/testkit/oidc-provider';
import { ServerProcess } from '@postern/testkit/server-process';

/** The people of the provider, by subject. */
const PEOPLE: Record<string, OidcPerson> = {
  'u-ines': { email: 'ines@example.com', name: 'Ines Admin', groups: ['staff', 'sec-admins'] },
  'u-omar': { email: 'omar@example.com', name: 'Omar Ops', groups: ['sec-ops'] },
  'u-paul': { email: 'paul@example.com', name: 'Paul Sales', groups: ['sales'] },
};

describe.each(databaseKinds)('signing in through OpenID Connect on %s', (kind) => {
  let server: ServerProcess;
  let idp: TestOidcProvider;

  beforeAll(async () => {
    const port = await freePort();
    server = await ServerProcess.start(kind, {
      POSTERN_OIDC_ISSUER: `http://127.0.0.1:${port}`,
      POSTERN_OIDC_CLIENT_ID: 'postern',
      POSTERN_OIDC_CLIENT_SECRET: 'postern-client-secret-for-tests',
      POSTERN_OIDC_ROLES: 'sec-admins=admin,sec-ops=operator,it=viewer',
      POSTERN_OIDC_SCOPES: 'openid email profile groups',
    });
    // The server discovers the provider when the first sign-in starts, so the provider may come second.
    idp = await startOidcProvider({ port, redirectUri: `${server.url}/auth/oidc/callback`, people: PEOPLE });
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  async function signInAs(subject: string, browser = new Browser(), start = '/auth/oidc/start') {
    idp.signsInNext(subject);
    const hops = await browser.visit(`${server.url}${start}`);
    const callback = hops.find((h) => h.url.startsWith(`${server.url}/auth/oidc/callback`));
    return { hops, callback, browser, session: browser.cookie('127.0.0.1', 'postern_session') };
  }

  it('signs a person in with PKCE, state and nonce, makes their account with the role their group maps to, and sends them on', async () => {
    const { hops, callback, session } = await signInAs('u-ines', new Browser(), '/auth/oidc/start?next=%2Fdevices');
    const authorize = new URL(hops[0]?.response.headers.get('location') ?? '');
    expect(authorize.origin).toBe(idp.issuer);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ response_type: 'code', client_id: 'postern', code_challenge_method: 'S256', scope: 'openid email profile groups', state: expect.any(String), nonce: expect.any(String), code_challenge: expect.any(String) });
    expect(callback?.response.status).toBe(303);
    expect(callback?.response.headers.get('location')).toBe('/devices');
    expect(session).toBeDefined();

    const me = await fetch(`${server.url}/v1/admin/session`, { headers: { cookie: `postern_session=${session}` } });
    expect(await me.json()).toMatchObject({ name: 'ines@example.com', email: 'ines@example.com', role: 'admin' });
    const list = JSON.parse((await adminCli(server, ['admin', 'list', '--json'])).stdout) as { admins: Array<{ name: string; role: string; oidc: boolean }> };
    expect(list.admins).toContainEqual(expect.objectContaining({ name: 'ines@example.com', role: 'admin', oidc: true }));
  });

  it('gives an operator group the role operator, and signing in again keeps one account', async () => {
    const first = await signInAs('u-omar');
    const second = await signInAs('u-omar');
    expect(first.session).toBeDefined();
    expect(second.session).not.toBe(first.session);
    const me = await fetch(`${server.url}/v1/admin/session`, { headers: { cookie: `postern_session=${second.session}` } });
    expect(await me.json()).toMatchObject({ name: 'omar@example.com', role: 'operator' });
    const list = JSON.parse((await adminCli(server, ['admin', 'list', '--json'])).stdout) as { admins: Array<{ name: string }> };
    expect(list.admins.filter((a) => a.name === 'omar@example.com')).toHaveLength(1);
  });

  it('refuses a person in no mapped group with a page that says why, and no session', async () => {
    const { callback, session } = await signInAs('u-paul');
    expect(callback?.response.status).toBe(403);
    expect(callback?.response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(callback?.response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(callback?.body).toContain('paul@example.com is in none of the groups that give access to Postern');
    expect(session).toBeUndefined();
  });

  it('refuses a callback that did not start in this browser (its state cookie is missing)', async () => {
    idp.signsInNext('u-ines');
    const starter = new Browser();
    const hops = await starter.visit(`${server.url}/auth/oidc/start`);
    const callbackUrl = hops.find((h) => h.url.startsWith(`${server.url}/auth/oidc/callback`))?.url;
    expect(callbackUrl).toBeDefined();
    // Another browser given the same callback URL (login CSRF) gets no session.
    const [answer] = await new Browser().visit(callbackUrl ?? '');
    expect(answer?.response.status).toBe(400);
    expect(answer?.body).toContain('did not start in this browser');
  });
});

describe('OpenID Connect sign-in on a server without it', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start('pglite');
  });
  afterAll(() => server?.stop());

  it('answers a page pointing to sign-in links', async () => {
    const response = await fetch(`${server.url}/auth/oidc/start`, { redirect: 'manual' });
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('postern-server admin sign-in-link');
  });
});

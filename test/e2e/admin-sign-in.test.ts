import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { ServerProcess } from '@postern/testkit/server-process';

/** What a browser keeps of the session cookie: its value, and the attributes it was set with. */
function sessionCookie(response: Response): { value: string; attributes: string[] } | null {
  const line = response.headers.getSetCookie().find((c) => c.startsWith('postern_session='));
  if (!line) return null;
  const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
  return { value: pair.slice('postern_session='.length), attributes: attributes.map((a) => a.toLowerCase()) };
}

/** What a browser does with a printed link: GET its page (which spends nothing), then POST the page's form. */
async function openLink(url: string): Promise<Response> {
  const page = await fetch(url, { redirect: 'manual' });
  if (page.status !== 200) return page;
  const secret = /name="t" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  return fetch(new URL('link', url), { method: 'POST', redirect: 'manual', headers: { origin: new URL(url).origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t: secret }) });
}

describe.each(databaseKinds)('signing a browser in with a one-time link on %s', (kind) => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await ServerProcess.start(kind);
  });
  afterAll(() => server?.stop());

  async function linkFromCli(args: string[] = []): Promise<string> {
    const made = await adminCli(server, ['admin', 'sign-in-link', ...args]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    return made.stdout.trim();
  }

  async function signIn(args: string[] = []): Promise<{ cookie: string; csrf: string; location: string | null }> {
    const response = await openLink(await linkFromCli(args));
    expect(response.status).toBe(303);
    const cookie = sessionCookie(response);
    if (!cookie) throw new Error('no session cookie');
    const session = await fetch(`${server.url}/v1/admin/session`, { headers: { cookie: `postern_session=${cookie.value}` } });
    const body = (await session.json()) as { csrf: string };
    return { cookie: `postern_session=${cookie.value}`, csrf: body.csrf, location: response.headers.get('location') };
  }

  it('redeems the printed link once: a strict httpOnly cookie, a redirect to the dashboard, and the session names the admin', async () => {
    const url = await linkFromCli();
    expect(url).toMatch(new RegExp(`^${server.url}/auth/link\\?t=psl_[0-9a-f]{32}_[0-9a-f]{64}$`));
    const first = await openLink(url);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = sessionCookie(first);
    expect(cookie?.attributes).toEqual(expect.arrayContaining(['path=/', 'samesite=strict', 'httponly']));
    // Plain HTTP here: a Secure cookie would never come back.
    expect(cookie?.attributes).not.toContain('secure');

    const session = await fetch(`${server.url}/v1/admin/session`, { headers: { cookie: `postern_session=${cookie?.value}` } });
    expect(session.status).toBe(200);
    expect(await session.json()).toEqual({ name: 'initial', email: null, role: 'admin', csrf: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    const again = await openLink(url);
    expect(again.status).toBe(401);
    expect(again.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await again.text()).toContain('works once');
    expect(sessionCookie(again)).toBeNull();
  });

  it('sends the browser to the path the link was made with, and refuses a link to another site', async () => {
    const { location } = await signIn(['--next', '/devices?verdict=noncompliant']);
    expect(location).toBe('/devices?verdict=noncompliant');
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const refused = await adminCli(server, ['admin', 'sign-in-link', '--next', next]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('next must be a path on this server');
    }
  });

  it('answers 401 problem details without a session, and for a made-up cookie', async () => {
    for (const headers of [{}, { cookie: `postern_session=pss_${'0'.repeat(32)}_${'0'.repeat(64)}` }] as Array<Record<string, string>>) {
      const response = await fetch(`${server.url}/v1/admin/session`, { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'unauthorized', detail: expect.stringMatching(/sign in/) });
    }
  });

  it('lets a cookie-authenticated change through only with the session’s CSRF token; token calls need none', async () => {
    const { cookie, csrf } = await signIn();
    const body = JSON.stringify({ name: 'ci-gateway' });
    const post = (headers: Record<string, string>) => fetch(`${server.url}/v1/admin/gateway-keys`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    const without = await post({ cookie });
    expect(without.status).toBe(403);
    expect(await without.json()).toMatchObject({ code: 'csrf_failed', detail: expect.stringContaining('x-csrf-token') });
    const wrong = await post({ cookie, 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` });
    expect(wrong.status).toBe(403);
    // Another session's token is not this one's.
    const other = await signIn();
    expect(other.csrf).not.toBe(csrf);
    expect((await post({ cookie, 'x-csrf-token': other.csrf })).status).toBe(403);

    const right = await post({ cookie, 'x-csrf-token': csrf });
    expect(right.status).toBe(201);
    expect((await post({ authorization: `Bearer ${server.adminToken}` })).status).toBe(201);
    // Reads need no CSRF token.
    expect((await fetch(`${server.url}/v1/admin/devices`, { headers: { cookie } })).status).toBe(200);
  });

  it('signs out: the session ends on the server, the cookie is cleared, and sign-out itself needs the CSRF token', async () => {
    const { cookie, csrf } = await signIn();
    const refused = await fetch(`${server.url}/auth/sign-out`, { method: 'POST', headers: { cookie } });
    expect(refused.status).toBe(403);
    const out = await fetch(`${server.url}/auth/sign-out`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ signed_out: true });
    expect(sessionCookie(out)?.value).toBe('');
    const after = await fetch(`${server.url}/v1/admin/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ detail: expect.stringContaining('session has ended') });
  });

  // The link's own page, which runs one script of this server's, is tested in backend/src/auth/sign-in-link-routes.test.ts.
  it('answers sign-in pages with a strict Content-Security-Policy and no referrer', async () => {
    const response = await fetch(`${server.url}/auth/oidc/start`, { redirect: 'manual' });
    expect(response.status).toBe(404);
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

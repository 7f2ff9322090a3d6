import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { adminToken, api, ApiError, setAdminToken, setCsrf } from './api.js';
import { liveFeed } from './live.js';
import { AuditPage } from './pages/audit.js';
import { DevicePage } from './pages/device.js';
import { DevicesPage } from './pages/devices.js';
import { EnrollmentPage } from './pages/enrollment.js';
import { GatewaysPage } from './pages/gateways.js';
import { OverviewPage } from './pages/overview.js';
import { PoliciesPage } from './pages/policies.js';
import { SignInPage } from './pages/sign-in.js';
import { onLinkClick, useLocation } from './router.js';
import './styles.css';
import type { Session } from './types.js';

const NAV = [
  ['/', 'Overview'],
  ['/devices', 'Devices'],
  ['/policies', 'Policies'],
  ['/enrollment', 'Enrollment'],
  ['/audit', 'Audit'],
  ['/gateways', 'Gateways'],
] as const;

/** Who is signed in: the session cookie's admin, or the admin whose pasted token this tab sends. */
async function loadSession(): Promise<Session | null> {
  try {
    const session = await api<Session>('GET', '/v1/admin/session');
    setCsrf(session.csrf);
    return session;
  } catch (error) {
    if (!(error instanceof ApiError) || error.problem.status !== 401) throw error;
    // A pasted token that no longer works is forgotten.
    setAdminToken(null);
  }
  return null;
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | null>(null);
  const [live, setLive] = useState(liveFeed.connected);
  const { path, search } = useLocation();
  const refresh = () => loadSession().then(setSession, (e: unknown) => setFailure(e instanceof Error ? e.message : String(e)));
  useEffect(() => {
    void refresh();
    return liveFeed.onState(setLive);
  }, []);
  // Connected while signed in, whichever page is open, so the indicator says what it means.
  useEffect(() => (session ? liveFeed.subscribe(() => undefined) : undefined), [session]);
  useEffect(() => {
    const name = NAV.find(([p]) => (p === '/' ? path === '/' : path.startsWith(p)))?.[1] ?? 'Postern';
    document.title = `${name} · Postern`;
  }, [path]);
  if (failure) return <p class="error">The server could not be reached: {failure}</p>;
  if (session === undefined) return <p class="muted">Loading…</p>;
  if (session === null) return <SignInPage onSignedIn={() => void refresh()} />;
  const device = /^\/devices\/([0-9a-f-]{36})$/.exec(path)?.[1];
  let page;
  if (path === '/') page = <OverviewPage range={search.get('range') ?? '7d'} />;
  else if (device) page = <DevicePage id={device} session={session} />;
  else if (path === '/devices') page = <DevicesPage search={search} />;
  else if (path === '/policies') page = <PoliciesPage session={session} />;
  else if (path === '/enrollment') page = <EnrollmentPage session={session} />;
  else if (path === '/audit') page = <AuditPage search={search} />;
  else if (path === '/gateways') page = <GatewaysPage session={session} />;
  else page = <p>There is no page at {path}.</p>;
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Postern</span>
        <nav aria-label="Main">
          {NAV.map(([href, label]) => (
            <a href={href} aria-current={(href === '/' ? path === '/' : path.startsWith(href)) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class={`live ${live ? 'on' : 'off'}`} role="status" data-testid="live-status">
          {live ? 'live' : 'reconnecting…'}
        </span>
        <span class="who" data-testid="who">
          {session.name} ({session.role})
        </span>
        <button
          type="button"
          onClick={() => {
            liveFeed.stop();
            // A pasted token is forgotten; a browser session is ended on the server.
            const ending = adminToken() ? Promise.resolve() : api('POST', '/auth/sign-out').catch(() => undefined);
            setAdminToken(null);
            void ending.then(refresh);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);

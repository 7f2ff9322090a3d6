import { timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Admin } from '../accounts/accounts.js';
import { ROLE_DOES, roleAllows } from '../accounts/roles.js';
import { sessionCookieOf } from '../auth/session-cookie.js';
import { findSession, SESSION_ABSOLUTE_S, SESSION_IDLE_S, type Session } from '../auth/sessions.js';
import type { Backend } from '../context.js';
import { ExceptionRefused } from '../exceptions/exceptions.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import { PolicyTargetMissing } from '../policy-lifecycle/apply.js';
import { formatProblem, PolicyInvalid } from '../policy/document.js';
import type { AdminRole } from '../store/schema.js';
import { authenticateAdmin } from './admin-token.js';
import { routeTemplate } from '../http/route-template.js';

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who is calling: an admin through an API token (CLI, scripts) or through a browser session. */
export type Caller = { admin: Admin; via: 'token' } | { admin: Admin; via: 'session'; session: Session };

/**
 * Admin calls need an admin token (`Authorization: Bearer`) or the session cookie, of an account
 * holding at least `role`. A cookie-authenticated change must also carry the session's CSRF token.
 * Puts `admin:<name>` in ctx.state.actor, the role in ctx.state.role and the caller in ctx.state.caller.
 */
export function requireRole(backend: Backend, role: AdminRole): Middleware {
  return async (ctx, next) => {
    const caller = await authenticateCaller(ctx, backend);
    if (caller.via === 'session' && !SAFE_METHODS.has(ctx.method)) checkCsrf(ctx, caller.session);
    const { admin } = caller;
    if (!roleAllows(admin.role, role)) {
      throw new HttpError('insufficient_role', `${admin.name} has the role ${admin.role}; ${ctx.method} ${routeTemplate(ctx) ?? ctx.path} needs ${role} (${ROLE_DOES[role]}): ask an admin to run \`postern-server admin set-role ${admin.name} ${role}\``, {
        extra: { role: admin.role, required: role },
      });
    }
    ctx.state.actor = `admin:${admin.name}`;
    ctx.state.role = admin.role;
    ctx.state.caller = caller;
    ctx.set('cache-control', 'no-store');
    await next();
    // One line per change an admin made (reads are in the debug access log); bodies are never logged.
    if (!SAFE_METHODS.has(ctx.method) && ctx.status < 400) {
      backend.log.info({ actor: ctx.state.actor, action: `${ctx.method} ${routeTemplate(ctx) ?? ctx.path}`, target: ctx.params?.id ?? ctx.params?.group ?? ctx.params?.name ?? null, status: ctx.status }, 'admin action');
    }
  };
}

async function authenticateCaller(ctx: Context, backend: Backend): Promise<Caller> {
  const presented = credentialOf(ctx, 'Bearer');
  if (presented) {
    const admin = await authenticateAdmin(backend.db, presented);
    if (!admin) throw new HttpError('unauthorized', 'the admin token is wrong or was removed: the first one is in the file admin-token in the server data directory', { headers: { 'www-authenticate': 'Bearer' } });
    if (admin.disabled) throw new HttpError('unauthorized', `the admin account ${admin.name} is disabled: ask an admin to enable it again`, { headers: { 'www-authenticate': 'Bearer' } });
    return { admin, via: 'token' };
  }
  const cookie = sessionCookieOf(ctx);
  const session = cookie ? await findSession(backend.db, cookie, backend.now()) : null;
  if (session) return { admin: session.admin, via: 'session', session };
  throw new HttpError(
    'unauthorized',
    cookie
      ? `the session has ended (signed out, idle for ${SESSION_IDLE_S / 3600} hours, or older than ${SESSION_ABSOLUTE_S / 3600} hours): sign in again`
      : 'sign in, or send an admin token as "Authorization: Bearer <token>" (the first one is in the file admin-token in the server data directory)',
    { headers: { 'www-authenticate': 'Bearer' } },
  );
}

/** The synchroniser token, compared in constant time. */
export function checkCsrf(ctx: Context, session: Session): void {
  const presented = Buffer.from(ctx.get(CSRF_HEADER));
  const expected = Buffer.from(session.csrf);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new HttpError('csrf_failed', `a change made with the session cookie must carry the header ${CSRF_HEADER}: the "csrf" member of GET /v1/admin/session`);
  }
}

export const actorOf = (ctx: Context): string => String(ctx.state.actor);
export const callerOf = (ctx: Context): Caller => ctx.state.caller as Caller;

/** Domain errors of policies and exceptions as HTTP errors. */
export async function asHttpErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PolicyInvalid) {
      throw new HttpError('invalid_policy', `the policy is invalid: ${error.problems.slice(0, 5).map(formatProblem).join('; ')}${error.problems.length > 5 ? ` (and ${error.problems.length - 5} more)` : ''}`, { extra: { problems: error.problems } });
    }
    if (error instanceof PolicyTargetMissing) throw new HttpError(error.code, error.message);
    if (error instanceof ExceptionRefused) throw new HttpError(error.code, error.message);
    throw error;
  }
}

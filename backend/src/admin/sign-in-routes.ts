import type { Router } from '@koa/router';
import { z } from 'zod';
import { adminName, findAdmin } from '../accounts/accounts.js';
import { roleAllows } from '../accounts/roles.js';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { actorOf, callerOf, checkCsrf, requireRole } from './require-admin.js';
import { nextPath } from '../auth/next-path.js';
import { securityHeaders } from '../auth/security-headers.js';
import { clearSessionCookie, sessionCookieOf } from '../auth/session-cookie.js';
import { endSession, findSession } from '../auth/sessions.js';
import { signInLinkRoutes } from '../auth/sign-in-link-routes.js';
import { createSignInLink, SIGN_IN_LINK_PATH } from '../auth/sign-in-links.js';

export const signInLinkBody = z.object({
  /** The admin to sign in as; the caller's own account when absent. */
  name: adminName.optional(),
  next: nextPath.default('/'),
});
export const signInLinkCreated = z.object({ url: z.string(), name: z.string(), expires_at: z.number().int() });
export const sessionView = z.object({
  name: z.string(),
  email: z.string().nullable(),
  role: z.enum(['viewer', 'operator', 'admin']),
  /** The `x-csrf-token` of every change this session makes; null for an API token, which needs none. */
  csrf: z.string().nullable(),
});
export const signedOut = z.object({ signed_out: z.literal(true) });

/** One-time sign-in links, the browser session, and signing out. */
export function signInRoutes(router: Router, backend: Backend): void {
  const headers = securityHeaders();

  router.post('/v1/admin/sign-in-links', requireRole(backend, 'viewer'), async (ctx) => {
    const body = await readJson(ctx, signInLinkBody);
    const caller = callerOf(ctx);
    const name = body.name ?? caller.admin.name;
    // Signing in as somebody else is acting as them: only an admin may.
    if (name !== caller.admin.name && !roleAllows(caller.admin.role, 'admin')) {
      throw new HttpError('insufficient_role', `${caller.admin.name} may make a sign-in link for itself only; a link for ${name} needs the role admin`, { extra: { role: caller.admin.role, required: 'admin' } });
    }
    const admin = await findAdmin(backend.db, { name });
    if (!admin) throw new HttpError('unknown_admin', `no admin named ${name}: \`postern-server admin list\` shows them`);
    if (admin.disabled) throw new HttpError('conflict', `the admin account ${name} is disabled: enable it first`);
    const { secret, expiresAt } = await createSignInLink(backend.db, { admin, next: body.next, actor: actorOf(ctx) }, backend.now());
    backend.log.info({ actor: actorOf(ctx), for: admin.name }, 'made a sign-in link');
    ctx.status = 201;
    const created: z.infer<typeof signInLinkCreated> = { url: `${backend.issuer}${SIGN_IN_LINK_PATH}?t=${secret}`, name: admin.name, expires_at: expiresAt };
    ctx.body = created;
  });

  signInLinkRoutes(router, backend);

  router.get('/v1/admin/session', requireRole(backend, 'viewer'), (ctx) => {
    const caller = callerOf(ctx);
    const body: z.infer<typeof sessionView> = { name: caller.admin.name, email: caller.admin.email, role: caller.admin.role, csrf: caller.via === 'session' ? caller.session.csrf : null };
    ctx.body = body;
  });

  router.post('/auth/sign-out', headers, async (ctx) => {
    const cookie = sessionCookieOf(ctx);
    const session = cookie ? await findSession(backend.db, cookie, backend.now()) : null;
    // A live session ends only at its own page's request; an ended one has nothing left to protect.
    if (session) checkCsrf(ctx, session);
    if (cookie) await endSession(backend.db, cookie);
    clearSessionCookie(ctx);
    const body: z.infer<typeof signedOut> = { signed_out: true };
    ctx.body = body;
  });
}

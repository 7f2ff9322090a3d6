import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { OidcSettings } from '../config.js';
import type { Backend } from '../context.js';
import { escapeHtml } from './html-page.js';
import { nextPath } from './next-path.js';
import { OIDC_CALLBACK_PATH, OidcRefused, OidcSignIn } from './oidc.js';
import { securityHeaders } from './security-headers.js';
import { signInLimit } from './sign-in-limit.js';
import { htmlMessage, signIn } from './sign-in.js';

export const OIDC_START_PATH = '/auth/oidc/start';
/** Binds a sign-in to the browser that started it. Lax, not Strict: it must come back with the provider's cross-site redirect. */
const STATE_COOKIE = 'postern_oidc';
export const oidcStartQuery = z.object({ next: nextPath.default('/') });

/** OpenID Connect sign-in: start (redirect to the provider) and callback (a session, or a page saying why not). */
export function oidcRoutes(router: Router, backend: Backend, settings: OidcSettings | undefined): void {
  const oidc = settings ? new OidcSignIn(settings, backend.db) : null;
  const headers = securityHeaders();
  const unavailable = (ctx: Context) =>
    htmlMessage(ctx, 404, 'OpenID Connect sign-in is not set up', 'This server has no POSTERN_OIDC_ISSUER. Sign in with a link instead: <code>postern-server admin sign-in-link</code> on the server.');
  const refused = (ctx: Context, error: unknown) => {
    if (!(error instanceof OidcRefused)) throw error;
    backend.log.warn({ reason: error.message }, 'OpenID Connect sign-in refused');
    htmlMessage(ctx, error.status, 'Sign-in refused', escapeHtml(error.message));
  };

  const limit = signInLimit(backend);
  router.get(OIDC_START_PATH, headers, limit, async (ctx) => {
    if (!oidc) return unavailable(ctx);
    const query = oidcStartQuery.safeParse(ctx.query);
    if (!query.success) return htmlMessage(ctx, 400, 'Sign-in refused', 'The <code>next</code> address must be a path on this server.');
    try {
      const { url, state } = await oidc.start({ redirectUri: `${backend.issuer}${OIDC_CALLBACK_PATH}`, next: query.data.next, now: backend.now() });
      ctx.cookies.set(STATE_COOKIE, state, { httpOnly: true, sameSite: 'lax', path: '/auth/oidc', secure: ctx.secure, maxAge: 600_000, overwrite: true });
      ctx.status = 303;
      ctx.redirect(url);
    } catch (error) {
      refused(ctx, error);
    }
  });

  router.get(OIDC_CALLBACK_PATH, headers, limit, async (ctx) => {
    if (!oidc) return unavailable(ctx);
    const boundState = ctx.cookies.get(STATE_COOKIE) ?? null;
    ctx.cookies.set(STATE_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/auth/oidc', secure: ctx.secure, maxAge: 0, overwrite: true });
    try {
      // The URL the provider was told to send the browser to, as the public URL spells it (a proxy may stand between).
      const callbackUrl = new URL(`${backend.issuer}${OIDC_CALLBACK_PATH}${ctx.querystring ? `?${ctx.querystring}` : ''}`);
      const { admin, claimedRole, next } = await oidc.finish({ callbackUrl, boundState, now: backend.now() });
      if (admin.role !== claimedRole) backend.log.warn({ admin: admin.name, role: admin.role, claimed: claimedRole }, 'kept the role admin of the last enabled admin; the provider\'s groups give a lower one');
      backend.log.info({ admin: admin.name, role: admin.role }, 'signed in through OpenID Connect');
      await signIn(ctx, backend, admin.id, next);
    } catch (error) {
      refused(ctx, error);
    }
  });
}

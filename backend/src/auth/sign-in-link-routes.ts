import { createHash } from 'node:crypto';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { findAdmin } from '../accounts/accounts.js';
import type { Backend } from '../context.js';
import { escapeHtml, htmlPage } from './html-page.js';
import { securityHeaders } from './security-headers.js';
import { signInLimit } from './sign-in-limit.js';
import { htmlMessage, signIn } from './sign-in.js';
import { peekSignInLink, redeemSignInLink, SIGN_IN_LINK_PATH, SIGN_IN_LINK_TTL_S, type SignInLink } from './sign-in-links.js';

export const linkQuery = z.object({ t: z.string().max(200).optional() });
export const linkForm = z.object({ t: z.string().max(200) });
export const SIGN_IN_SCRIPT_PATH = `${SIGN_IN_LINK_PATH}.js`;

/**
 * Submits the sign-in form once the page is really shown to a person: not while a browser
 * prerenders it or keeps it in a background tab. Without script the button does the same.
 */
export const SIGN_IN_SCRIPT = `(function () {
  var form = document.getElementById('sign-in');
  var sent = false;
  function submit() {
    if (sent || !form || document.prerendering || document.visibilityState !== 'visible') return;
    sent = true;
    form.submit();
  }
  document.addEventListener('visibilitychange', submit);
  document.addEventListener('prerenderingchange', submit);
  submit();
})();
`;
const SCRIPT_INTEGRITY = `sha256-${createHash('sha256').update(SIGN_IN_SCRIPT).digest('base64')}`;
/** A form is small: the link's secret and nothing else. */
const FORM_LIMIT = 4096;

/**
 * A sign-in link is spent by a POST only. Mail scanners and chat unfurlers fetch a link with GET
 * (or HEAD) before the person opens it: that answers a page whose form, submitted by a script
 * file or by its button, makes the POST. The POST is CSRF-safe: the link's secret is the
 * credential, the session cookie is SameSite=Strict, and a browser's Origin must be this server's.
 */
export function signInLinkRoutes(router: Router, backend: Backend): void {
  const unusable = (ctx: Context) =>
    htmlMessage(ctx, 401, 'This sign-in link does not work', `A sign-in link works once, for ${SIGN_IN_LINK_TTL_S / 60} minutes. Make a new one on the server with <code>postern-server admin sign-in-link</code>.`);
  const disabled = (ctx: Context) => htmlMessage(ctx, 403, 'This account is disabled', 'Ask an admin to enable the account again.');
  const accountOf = async (link: SignInLink | null) => (link ? await findAdmin(backend.db, { id: link.adminId }) : null);

  // The page keeps the Origin header on its POST (no-referrer would send "Origin: null") without ever sending the link in a Referer.
  const limit = signInLimit(backend);
  router.get(SIGN_IN_LINK_PATH, securityHeaders({ scripts: 'self', referrer: 'strict-origin' }), limit, async (ctx) => {
    const parsed = linkQuery.safeParse(ctx.query);
    const secret = parsed.success ? parsed.data.t : undefined;
    const admin = secret ? await accountOf(await peekSignInLink(backend.db, secret, backend.now())) : null;
    if (!secret || !admin) return unusable(ctx);
    if (admin.disabled) return disabled(ctx);
    ctx.type = 'html';
    ctx.body = htmlPage(
      'Sign in',
      `<h1>Sign in to Postern</h1>
<form id="sign-in" method="post" action="link"><input type="hidden" name="t" value="${escapeHtml(secret)}">
<p><button type="submit">Sign in as ${escapeHtml(admin.name)}</button></p></form>
<p>This link works once: after signing in, opening it again does nothing.</p>`,
      { referrer: 'strict-origin', script: { src: 'link.js', integrity: SCRIPT_INTEGRITY } },
    );
  });

  router.get(SIGN_IN_SCRIPT_PATH, (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('x-content-type-options', 'nosniff');
    // Revalidated: a copy cached from another version would fail the page's integrity check.
    ctx.set('cache-control', 'no-cache');
    ctx.body = SIGN_IN_SCRIPT;
  });

  router.post(SIGN_IN_LINK_PATH, securityHeaders(), limit, async (ctx) => {
    const origin = ctx.get('origin');
    // Another site's page (or an opaque "null" origin) posting a link of its own would sign this browser in as somebody else.
    if (origin && origin !== new URL(backend.issuer).origin) {
      backend.log.warn({ origin }, 'sign-in link posted from another origin');
      return htmlMessage(ctx, 403, 'Sign-in refused', `This sign-in came from a page of another site (${escapeHtml(origin)}). Open the sign-in link itself in the browser.`);
    }
    const form = await readForm(ctx);
    if (!form) return htmlMessage(ctx, 400, 'Sign-in refused', 'This is not a sign-in form of this server. Open the sign-in link itself in the browser.');
    const link = await redeemSignInLink(backend.db, form.t, backend.now());
    const admin = await accountOf(link);
    if (!link || !admin) return unusable(ctx);
    if (admin.disabled) return disabled(ctx);
    backend.log.info({ admin: admin.name }, 'signed in with a sign-in link');
    await signIn(ctx, backend, admin.id, link.next);
  });
}

/** The urlencoded form a browser posts, at most 4 KiB; null when it is anything else. */
async function readForm(ctx: Context): Promise<z.infer<typeof linkForm> | null> {
  if (!ctx.is('application/x-www-form-urlencoded') || Number(ctx.get('content-length') || 0) > FORM_LIMIT) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT) return null;
    chunks.push(chunk);
  }
  const parsed = linkForm.safeParse(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
  return parsed.success ? parsed.data : null;
}

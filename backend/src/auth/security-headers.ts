import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { PAGE_STYLE } from './html-page.js';

const styleHash = createHash('sha256').update(PAGE_STYLE).digest('base64');

/**
 * Pages and sign-in answers: no script at all, no framing, no plugins, no `<base>`, and the one
 * stylesheet of our pages allowed by its hash rather than by 'unsafe-inline'.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'none'",
  `style-src 'self' 'sha256-${styleHash}'`,
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(ctx: Context): void {
  ctx.set('content-security-policy', CONTENT_SECURITY_POLICY);
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('referrer-policy', 'no-referrer');
  ctx.set('x-frame-options', 'DENY');
  ctx.set('cache-control', 'no-store');
}

/** Sets the headers before the route runs, so a refusal carries them too. */
export const securityHeaders = (): Middleware => async (ctx, next) => {
  setSecurityHeaders(ctx);
  await next();
};

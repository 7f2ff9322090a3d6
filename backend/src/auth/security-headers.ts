import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { PAGE_STYLE } from './html-page.js';

const styleHash = createHash('sha256').update(PAGE_STYLE).digest('base64');

/**
 * Pages and sign-in answers: no script at all (or, where a page asks, script files of this
 * origin only, never inline), no framing, no plugins, no `<base>`, and the one stylesheet of our
 * pages allowed by its hash rather than by 'unsafe-inline'.
 */
function contentSecurityPolicy(scripts: 'none' | 'self'): string {
  return [
    "default-src 'self'",
    `script-src '${scripts}'`,
    `style-src 'self' 'sha256-${styleHash}'`,
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const CONTENT_SECURITY_POLICY = contentSecurityPolicy('none');

export interface SecurityHeaderOptions {
  scripts?: 'none' | 'self';
  referrer?: 'no-referrer' | 'strict-origin';
}

export function setSecurityHeaders(ctx: Context, options: SecurityHeaderOptions = {}): void {
  ctx.set('content-security-policy', options.scripts === 'self' ? contentSecurityPolicy('self') : CONTENT_SECURITY_POLICY);
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('referrer-policy', options.referrer ?? 'no-referrer');
  ctx.set('x-frame-options', 'DENY');
  ctx.set('cache-control', 'no-store');
}

/** Sets the headers before the route runs, so a refusal carries them too. */
export const securityHeaders =
  (options: SecurityHeaderOptions = {}): Middleware =>
  async (ctx, next) => {
    setSecurityHeaders(ctx, options);
    await next();
  };

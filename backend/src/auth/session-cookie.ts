import type { Context } from 'koa';
import { SESSION_ABSOLUTE_S } from './sessions.js';

export const SESSION_COOKIE = 'postern_session';

/**
 * httpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure when the
 * browser reached us over https: directly, or through a proxy trusted with POSTERN_TRUST_PROXY.
 */
export function setSessionCookie(ctx: Context, token: string): void {
  ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: ctx.secure, maxAge: SESSION_ABSOLUTE_S * 1000, overwrite: true });
}

export function clearSessionCookie(ctx: Context): void {
  ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', secure: ctx.secure, maxAge: 0, overwrite: true });
}

export function sessionCookieOf(ctx: Context): string | null {
  const value = ctx.cookies.get(SESSION_COOKIE);
  return value && value.length <= 512 ? value : null;
}

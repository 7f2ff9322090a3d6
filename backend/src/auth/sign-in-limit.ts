import type { Middleware } from 'koa';
import type { Backend } from '../context.js';
import { consume } from '../ratelimit/limits.js';
import { htmlMessage } from './sign-in.js';

/**
 * Sign-in pages per client address (`POSTERN_SIGN_INS_PER_MINUTE`, per replica): each start of
 * an OpenID Connect sign-in stores a row for ten minutes and each link page looks one up, so an
 * unauthenticated client must not make them without bound. Over it: a 429 page with Retry-After.
 */
export function signInLimit(backend: Pick<Backend, 'limits' | 'clientAddress'>): Middleware {
  return async (ctx, next) => {
    const wait = await consume(backend.limits.signIns, backend.clientAddress(ctx.req));
    if (wait === null) return next();
    ctx.set('retry-after', String(wait));
    htmlMessage(ctx, 429, 'Too many sign-in attempts', `This address started too many sign-ins in the last minute. Wait ${wait} s, then open the sign-in link or start again.`);
  };
}

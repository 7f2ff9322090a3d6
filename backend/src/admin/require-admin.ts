import type { Context, Middleware } from 'koa';
import type { Backend } from '../context.js';
import { ExceptionRefused } from '../exceptions/exceptions.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import { PolicyTargetMissing } from '../policy-lifecycle/apply.js';
import { formatProblem, PolicyInvalid } from '../policy/document.js';
import { authenticateAdmin } from './admin-token.js';
import { routeTemplate } from '../http/route-template.js';

/** Every admin call needs the admin token; the actor `admin:<token name>` is put in ctx.state. */
export function requireAdmin(backend: Backend): Middleware {
  return async (ctx, next) => {
    const presented = credentialOf(ctx, 'Bearer');
    const admin = presented ? await authenticateAdmin(backend.db, presented) : null;
    if (!admin) throw new HttpError('unauthorized', 'the admin token is missing or wrong: it is in the file admin-token in the server data directory', { headers: { 'www-authenticate': 'Bearer' } });
    ctx.state.actor = `admin:${admin.name}`;
    ctx.set('cache-control', 'no-store');
    await next();
    // One line per change an admin made (reads are in the debug access log); bodies are never logged.
    if (ctx.method !== 'GET' && ctx.status < 400) {
      backend.log.info({ actor: ctx.state.actor, action: `${ctx.method} ${routeTemplate(ctx) ?? ctx.path}`, target: ctx.params?.id ?? ctx.params?.group ?? null, status: ctx.status }, 'admin action');
    }
  };
}

export const actorOf = (ctx: Context): string => String(ctx.state.actor);

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

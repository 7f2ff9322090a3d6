import type { Context, Middleware } from 'koa';
import { PROBLEM_CONTENT_TYPE, type ErrorCode } from '@postern/shared';
import type { Logger } from '../logging/logger.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import { HttpError } from './http-error.js';

/** Seconds a client waits before retrying a request the database could not serve: a restart or failover takes a few. */
export const DATABASE_RETRY_AFTER_S = 5;

/** 503 `database_unavailable`: the request may be sent again once the database is back. */
export function databaseUnavailable(): HttpError {
  return new HttpError('database_unavailable', `the database is unreachable at the moment: retry the request in ${DATABASE_RETRY_AFTER_S} s or later`, {
    headers: { 'retry-after': String(DATABASE_RETRY_AFTER_S) },
  });
}

/**
 * Turns every failure into RFC 9457 problem details: thrown HttpErrors, the router's bodiless
 * 404/405/501, errors of Koa or Node carrying a client status, and a database that cannot be reached
 * (503 `database_unavailable` with Retry-After; a query the database refused stays a 500). Unexpected
 * ones are logged, never echoed. Headers a route set before failing (Cache-Control) are kept.
 */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        const unanswered = routerStatus(ctx);
        if (unanswered) throw unanswered;
      }
    } catch (error) {
      const problem = error instanceof HttpError ? error : isDatabaseUnavailable(error) ? databaseUnavailable() : clientError(error);
      if (!problem) log.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      else if (problem.code === 'database_unavailable' && !(error instanceof HttpError)) log.debug({ err: error, method: ctx.method, path: ctx.path }, 'the database is unreachable; answered 503');
      send(ctx, problem ?? new HttpError('internal', 'the server failed to handle this request; see its log'));
    }
  };
}

function send(ctx: Context, error: HttpError): void {
  ctx.status = error.status;
  ctx.set(error.headers);
  if (error.code === 'database_unavailable' && !ctx.response.get('retry-after')) ctx.set('retry-after', String(DATABASE_RETRY_AFTER_S));
  ctx.body = error.toProblem();
  ctx.type = PROBLEM_CONTENT_TYPE;
}

/** The statuses Koa and @koa/router leave without a body: no route, a route without this method, an unknown method. */
function routerStatus(ctx: Context): HttpError | null {
  if (ctx.status === 404) return new HttpError('not_found', `no route for ${ctx.method} ${ctx.path}: see GET /openapi.json for the API`);
  if (ctx.status === 405) return new HttpError('method_not_allowed', `${ctx.path} does not answer ${ctx.method}: use ${ctx.response.get('allow') || 'another method'}`);
  if (ctx.status === 501) return new HttpError('not_implemented', `this server does not implement the method ${ctx.method}`);
  return null;
}

const CLIENT_STATUS: Record<number, ErrorCode> = { 400: 'malformed', 413: 'too_large', 415: 'unsupported_media_type' };

/** Errors from Koa or Node that blame the request (`expose` errors, a bad percent-encoding), as their code. */
function clientError(error: unknown): HttpError | null {
  if (error instanceof URIError) return new HttpError('malformed', 'the request URL is not valid percent-encoding');
  const status = (error as { status?: unknown; expose?: unknown } | null)?.status;
  const code = typeof status === 'number' ? CLIENT_STATUS[status] : undefined;
  return code && (error as { expose?: unknown }).expose === true ? new HttpError(code, `the request was refused: ${(error as Error).message}`) : null;
}

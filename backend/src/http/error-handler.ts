import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.js';
import { HttpError } from './http-error.js';

/** Turns every thrown error into `{"error":{"code","message"}}`; unexpected ones are logged, never echoed. */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (error) {
      if (error instanceof HttpError) {
        ctx.status = error.status;
        ctx.set(error.headers);
        ctx.body = { error: { code: error.code, message: error.message, ...error.details } };
        return;
      }
      log.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = 500;
      ctx.body = { error: { code: 'internal', message: 'the server failed to handle this request; see its log' } };
    }
  };
}

import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.js';
import { routeTemplate } from './route-template.js';

/**
 * One debug line per request: method, route template (never the raw path, which holds device
 * ids and whatever a scanner sends), status and milliseconds. Runs outermost, beside the metrics;
 * the app uses it only when the log's level is debug or lower.
 */
export function accessLog(log: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      log.debug({ method: ctx.method, route: routeTemplate(ctx) ?? 'unmatched', status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 }, 'request');
    }
  };
}

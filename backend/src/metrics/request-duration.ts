import type { Middleware } from 'koa';
import type { Metrics } from './metrics.js';
import { routeTemplate } from '../http/route-template.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Times every request into `postern_http_request_duration_seconds`. It runs outermost, so the status is
 * the one sent, after the error handler. Requests no route matched share one label, and unusual
 * methods another: neither a scanner's URLs nor its methods can grow the number of series.
 */
export function requestDuration(metrics: Metrics): Middleware {
  const histogram = metrics.httpRequestSeconds;
  return async (ctx, next) => {
    // performance.now and one observe: prom-client's startTimer adds a closure and a merge of label objects per request.
    const started = performance.now();
    try {
      await next();
    } finally {
      histogram.observe({ method: METHODS.has(ctx.method) ? ctx.method : 'OTHER', route: routeTemplate(ctx) ?? 'unmatched', status: String(ctx.status) }, (performance.now() - started) / 1000);
    }
  };
}

import type { Context } from 'koa';

/**
 * The router's path template the request matched (`/v1/admin/devices/:id`), or null: what logs
 * and metrics name a request by, so ids never become labels.
 */
export function routeTemplate(ctx: Context): string | null {
  const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  return typeof route === 'string' ? route : null;
}

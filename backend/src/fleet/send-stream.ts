import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Context } from 'koa';

/**
 * Sends an open-ended body (the live feed, a CSV export) straight to the socket. A browser that
 * goes away mid-body is normal here, not an error: the source is destroyed (which ends its
 * database reads) instead of Koa reporting a premature close.
 */
export function sendStream(ctx: Context, body: Readable): void {
  ctx.status = 200;
  ctx.respond = false;
  ctx.res.writeHead(200, ctx.response.headers as OutgoingHttpHeaders);
  ctx.res.flushHeaders();
  const stop = () => body.destroy();
  ctx.req.once('close', stop);
  ctx.res.once('close', stop);
  body.once('error', () => ctx.res.destroy());
  body.pipe(ctx.res);
}

import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Context } from 'koa';
import type { Logger } from '../logging/logger.js';

/**
 * Sends an open-ended body (the live feed, a CSV export) straight to the socket. A browser that
 * goes away mid-body is normal here, not an error: the source is destroyed (which ends its
 * database reads) instead of Koa reporting a premature close. A source that fails (a database
 * read) cuts the response short, which the browser sees as a broken download or a reconnect,
 * and says why in the log.
 */
export function sendStream(ctx: Context, body: Readable, log: Logger, what: string): void {
  ctx.status = 200;
  ctx.respond = false;
  ctx.res.writeHead(200, ctx.response.headers as OutgoingHttpHeaders);
  ctx.res.flushHeaders();
  const stop = () => body.destroy();
  ctx.req.once('close', stop);
  ctx.res.once('close', stop);
  body.once('error', (error) => {
    log.error({ err: error }, `${what} failed part way: the response was cut short`);
    ctx.res.destroy();
  });
  body.pipe(ctx.res);
}

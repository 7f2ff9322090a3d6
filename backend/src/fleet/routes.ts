import { Readable } from 'node:stream';
import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import type { z } from 'zod';
import { requireRole } from '../admin/require-admin.js';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readQuery } from '../http/read-query.js';
import { fleetCsv } from './csv-export.js';
import { fleetDeviceDetail } from './device-detail.js';
import { fleetOverview } from './overview.js';
import { deviceSearchFilters, deviceSearchQuery, type deviceSearchResult, type fleetOverview as overviewSchema, feedQuery, overviewQuery } from './schemas.js';
import { searchDevices } from './search-devices.js';
import { sendStream } from './send-stream.js';

/** The dashboard's read side: the fleet at a glance, device search and export, one device, live changes. */
export function fleetRoutes(router: Router, backend: Backend): void {
  const viewer = requireRole(backend, 'viewer');

  router.get('/v1/admin/fleet/overview', viewer, async (ctx) => {
    const q = readQuery(ctx, overviewQuery);
    const body: z.infer<typeof overviewSchema> = await fleetOverview(backend.db, { range: q.range, notReportingS: q.not_reporting_s, endingWithinS: q.ending_within_s, now: backend.now() });
    ctx.body = body;
  });

  router.get('/v1/admin/fleet/devices', viewer, async (ctx) => {
    const q = readQuery(ctx, deviceSearchQuery);
    const body: z.infer<typeof deviceSearchResult> = await searchDevices(backend.db, q, backend.now());
    ctx.body = body;
  });

  router.get('/v1/admin/fleet/devices.csv', viewer, async (ctx) => {
    const q = readQuery(ctx, deviceSearchFilters);
    const now = backend.now();
    ctx.set('content-disposition', `attachment; filename="postern-devices-${new Date(now * 1000).toISOString().slice(0, 10)}.csv"`);
    ctx.type = 'text/csv; charset=utf-8';
    sendStream(ctx, Readable.from(fleetCsv(backend.db, q, now)));
  });

  router.get('/v1/admin/fleet/devices/:id', viewer, async (ctx) => {
    const id = uuid.safeParse(ctx.params.id);
    if (!id.success) throw new HttpError('unknown_device', `no device ${ctx.params.id}: a device id is a UUID`);
    const detail = await fleetDeviceDetail(backend.db, id.data, backend.now());
    if (!detail) throw new HttpError('unknown_device', `no device ${id.data}`);
    ctx.body = detail;
  });

  router.get('/v1/admin/fleet/events', viewer, async (ctx) => {
    const q = readQuery(ctx, feedQuery);
    const header = ctx.get('last-event-id');
    // EventSource sends Last-Event-ID itself when it reconnects; `after` is for the first connection.
    const after = header && /^\d{1,15}$/.test(header) ? Number(header) : (q.after ?? null);
    const head = await backend.db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set('cache-control', 'no-store');
    ctx.set('x-accel-buffering', 'no');
    ctx.type = 'text/event-stream';
    sendStream(ctx, backend.fleetFeed.open(backend.db, after, Number(head?.seq ?? 0)));
  });
}

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
import { streamHead } from '../events/read.js';
import { fleetOverview, type FleetScanFigures } from './overview.js';
import { SharedResult } from './overview-cache.js';
import { deviceSearchFilters, deviceSearchQuery, type deviceSearchResult, type fleetOverview as overviewSchema, feedQuery, overviewQuery } from './schemas.js';
import { searchDevices } from './search-devices.js';
import { sendStream } from './send-stream.js';

/** Overviews of the same stream position asked for within this long share one computation (silence and end dates move with the clock). */
const OVERVIEW_MAX_AGE_MS = 5000;
/** The overview's scan figures (failing checks, OS versions, silent devices) are read at most this often, and answer while a fresh read runs for this much longer. */
const SCAN_MAX_AGE_MS = 30_000;
const SCAN_STALE_MS = 5 * 60_000;

/** The dashboard's read side: the fleet at a glance, device search and export, one device, live changes. */
export function fleetRoutes(router: Router, backend: Backend): void {
  const viewer = requireRole(backend, 'viewer');
  const overviews = new SharedResult<z.infer<typeof overviewSchema>>(OVERVIEW_MAX_AGE_MS);
  const scans = new SharedResult<FleetScanFigures>(SCAN_MAX_AGE_MS, { staleMs: SCAN_STALE_MS });

  router.get('/v1/admin/fleet/overview', viewer, async (ctx) => {
    const q = readQuery(ctx, overviewQuery);
    // Keyed by the stream's head too: a dashboard re-reading after an event never gets figures from before it.
    const key = `${q.range}|${q.not_reporting_s}|${q.ending_within_s}|${await streamHead(backend.db)}`;
    const body = await overviews.get(key, () => fleetOverview(backend.db, { range: q.range, notReportingS: q.not_reporting_s, endingWithinS: q.ending_within_s, now: backend.now(), scan: (compute) => scans.get(String(q.not_reporting_s), compute) }));
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
    sendStream(ctx, Readable.from(fleetCsv(backend.db, q, now)), backend.log, 'the CSV export');
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
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set('cache-control', 'no-store');
    ctx.set('x-accel-buffering', 'no');
    ctx.type = 'text/event-stream';
    sendStream(ctx, backend.fleetFeed.open(backend.db, after, await streamHead(backend.db)), backend.log, 'the dashboard feed');
  });
}

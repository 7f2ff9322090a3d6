import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { readEvents } from '../events/read.js';
import { eventTypes, streamEvent } from '../events/types.js';
import { readQuery } from '../http/read-query.js';
import { requireRole } from './require-admin.js';

export const eventList = z.object({ events: z.array(streamEvent), next: z.number().int().nonnegative() });

export const eventListQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  device: uuid.optional(),
  type: z.enum(eventTypes as [string, ...string[]]).optional(),
});

/** The event stream, read from a position: what a tool outside Postern follows (docs/events.md). */
export function eventRoutes(router: Router, backend: Backend): void {
  router.get('/v1/admin/events', requireRole(backend, 'viewer'), async (ctx) => {
    const q = readQuery(ctx, eventListQuery);
    const body: z.infer<typeof eventList> = await readEvents(backend.db, { after: q.after, limit: q.limit, ...(q.device ? { deviceId: q.device } : {}), ...(q.type ? { type: q.type } : {}) });
    ctx.body = body;
  });
}

import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { readEvents } from '../events/read.js';
import { eventTypes } from '../events/types.js';
import { describeIssues } from '../http/describe-issues.js';
import { HttpError } from '../http/http-error.js';
import { requireAdmin } from './require-admin.js';

const listQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  device: uuid.optional(),
  type: z.enum(eventTypes as [string, ...string[]]).optional(),
});

/** The event stream, read from a position: what a tool outside Postern follows (docs/events.md). */
export function eventRoutes(router: Router, backend: Backend): void {
  router.get('/v1/admin/events', requireAdmin(backend), async (ctx) => {
    const parsed = listQuery.safeParse(ctx.query);
    if (!parsed.success) throw new HttpError(400, 'malformed', `bad query: ${describeIssues(parsed.error.issues)}`);
    const q = parsed.data;
    ctx.body = await readEvents(backend.db, { after: q.after, limit: q.limit, ...(q.device ? { deviceId: q.device } : {}), ...(q.type ? { type: q.type } : {}) });
  });
}

import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { grantException, listExceptions, revokeException } from '../exceptions/exceptions.js';
import { actorOf, asHttpErrors, requireAdmin } from './require-admin.js';

const grantBody = z.object({
  check: z.string().min(1).max(100),
  until: z.number().int().positive(),
  reason: z.string().trim().min(1, 'say why: a reason is required').max(2000),
});

/** Break-glass exceptions: grant, list, revoke. */
export function exceptionRoutes(router: Router, backend: Backend): void {
  const admin = requireAdmin(backend);

  router.post('/v1/admin/devices/:id/exceptions', admin, async (ctx) => {
    const body = await readJson(ctx, grantBody);
    ctx.body = await asHttpErrors(() => grantException(backend, { deviceId: ctx.params.id ?? '', check: body.check, until: body.until, reason: body.reason, actor: actorOf(ctx) }));
    ctx.status = 201;
  });

  router.get('/v1/admin/exceptions', admin, async (ctx) => {
    const device = typeof ctx.query.device === 'string' ? ctx.query.device : undefined;
    if (device !== undefined && !uuid.safeParse(device).success) throw new HttpError('malformed', `"${device}" is not a device id`);
    const includeEnded = ctx.query.all === '1' || ctx.query.all === 'true';
    ctx.body = { exceptions: await listExceptions(backend.db, { ...(device ? { deviceId: device } : {}), includeEnded }, backend.now()) };
  });

  router.post('/v1/admin/exceptions/:id/revoke', admin, async (ctx) => {
    ctx.body = await asHttpErrors(() => revokeException(backend, { id: ctx.params.id ?? '', actor: actorOf(ctx) }));
  });
}

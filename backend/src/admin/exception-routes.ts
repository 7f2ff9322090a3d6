import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { readJson } from '../http/read-json.js';
import { readQuery } from '../http/read-query.js';
import { grantException, listExceptions, revokeException } from '../exceptions/exceptions.js';
import { actorOf, asHttpErrors, requireRole } from './require-admin.js';

export const grantExceptionBody = z.object({
  check: z.string().min(1).max(100),
  until: z.number().int().positive(),
  reason: z.string().trim().min(1, 'say why: a reason is required').max(2000),
});
export const exceptionListQuery = z.object({
  device: uuid.optional(),
  /** `1` or `true`: also ended and revoked exceptions. */
  all: z.string().max(5).optional(),
});

/** Break-glass exceptions: grant, list, revoke. */
export function exceptionRoutes(router: Router, backend: Backend): void {
  const viewer = requireRole(backend, 'viewer');
  const operator = requireRole(backend, 'operator');

  router.post('/v1/admin/devices/:id/exceptions', operator, async (ctx) => {
    const body = await readJson(ctx, grantExceptionBody);
    ctx.body = await asHttpErrors(() => grantException(backend, { deviceId: ctx.params.id ?? '', check: body.check, until: body.until, reason: body.reason, actor: actorOf(ctx) }));
    ctx.status = 201;
  });

  router.get('/v1/admin/exceptions', viewer, async (ctx) => {
    const { device, all } = readQuery(ctx, exceptionListQuery);
    const includeEnded = all === '1' || all === 'true';
    ctx.body = { exceptions: await listExceptions(backend.db, { ...(device ? { deviceId: device } : {}), includeEnded }, backend.now()) };
  });

  router.post('/v1/admin/exceptions/:id/revoke', operator, async (ctx) => {
    ctx.body = await asHttpErrors(() => revokeException(backend, { id: ctx.params.id ?? '', actor: actorOf(ctx) }));
  });
}

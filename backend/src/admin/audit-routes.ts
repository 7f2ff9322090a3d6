import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import { z } from 'zod';
import { listAudit } from '../audit/list.js';
import { verifyAuditChain } from '../audit/verify.js';
import type { Backend } from '../context.js';
import { readQuery } from '../http/read-query.js';
import { auditChainReport, auditList } from './response-schemas.js';
import { requireRole } from './require-admin.js';

export const auditListQuery = z.object({
  device: uuid.optional(),
  actor: z.string().max(200).optional(),
  kind: z.string().max(100).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  until: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** The audit log: filtered listing, and verification of its hash chain. */
export function auditRoutes(router: Router, backend: Backend): void {
  const viewer = requireRole(backend, 'viewer');

  router.get('/v1/admin/audit', viewer, async (ctx) => {
    const q = readQuery(ctx, auditListQuery);
    const body: z.infer<typeof auditList> = {
      entries: await listAudit(backend.db, {
        ...(q.device ? { deviceId: q.device } : {}),
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.until !== undefined ? { until: q.until } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      }),
    };
    ctx.body = body;
  });

  router.get('/v1/admin/audit/verify', viewer, async (ctx) => {
    const body: z.infer<typeof auditChainReport> = await verifyAuditChain(backend.db);
    ctx.body = body;
  });
}

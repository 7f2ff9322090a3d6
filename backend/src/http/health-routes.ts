import type { Router } from '@koa/router';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { databaseUnavailable } from './error-handler.js';

export const healthResponse = z.object({ status: z.literal('ok') });

/**
 * `GET /healthz` is readiness: 503 `database_unavailable` while the database does not answer,
 * so a load balancer sends new work elsewhere. It is not a liveness probe to restart on: during
 * an outage the process keeps answering forward-auth from memory until cached standings expire.
 */
export function healthRoutes(router: Router, backend: Backend): void {
  router.get('/healthz', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    try {
      await sql`select 1`.execute(backend.db);
    } catch {
      throw databaseUnavailable();
    }
    ctx.body = { status: 'ok' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = backend.metrics.registry.contentType;
    ctx.body = await backend.metrics.registry.metrics();
  });
}

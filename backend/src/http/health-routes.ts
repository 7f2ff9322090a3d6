import type { Router } from '@koa/router';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { HttpError } from './http-error.js';

export const healthResponse = z.object({ status: z.literal('ok') });

export function healthRoutes(router: Router, backend: Backend): void {
  router.get('/healthz', async (ctx) => {
    try {
      await sql`select 1`.execute(backend.db);
    } catch {
      throw new HttpError('database_unavailable', 'the database does not answer');
    }
    ctx.body = { status: 'ok' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = backend.metrics.registry.contentType;
    ctx.body = await backend.metrics.registry.metrics();
  });
}

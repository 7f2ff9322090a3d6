import type { Router } from '@koa/router';
import { numericDate } from '@postern/shared';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { requireRole } from '../admin/require-admin.js';
import type { Backend } from '../context.js';
import type { Database } from '../store/schema.js';
import { toSeconds } from '../store/rows.js';
import { DELIVERY } from './event-types.js';
import { streamStatusValue } from './stream-schemas.js';
import { pollPath } from './streams.js';

export const ADMIN_SSF_STREAMS_PATH = '/v1/admin/ssf/streams';

export const adminSsfStream = z
  .object({
    stream_id: z.string().uuid(),
    receiver: z.string().describe("the name of the gateway key (receiver) that created the stream"),
    receiver_revoked: z.boolean().describe('the receiver key was revoked: nobody can poll or change the stream'),
    delivery_method: z.enum([DELIVERY.push, DELIVERY.poll]),
    endpoint_host: z.string().nullable().describe('push: the host SETs are POSTed to (never the path, query or authorization header); poll: this server'),
    status: streamStatusValue,
    status_reason: z.string().nullable(),
    description: z.string().nullable(),
    events_requested: z.array(z.string()),
    waiting: z.number().int().nonnegative().describe('signed SETs waiting for the receiver'),
    oldest_waiting_at: numericDate.nullable().describe('when the oldest waiting SET was made; null when nothing waits'),
    failing_since: numericDate.nullable().describe('push: since when a SET has failed POSTERN_SSF_MAX_ATTEMPTS times; null when delivering'),
    last_error: z.string().nullable().describe('push: why the last failed attempt failed'),
    created_at: numericDate,
  })
  .meta({ id: 'AdminSsfStream' });
export type AdminSsfStream = z.infer<typeof adminSsfStream>;

export const adminSsfStreamList = z.object({ streams: z.array(adminSsfStream) });

/** Only the host: a push URL's path or query may carry a receiver's secret. */
function hostOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/**
 * Every SSF stream with its receiver and delivery health, for the dashboard's Gateways page and
 * operators: one query, the outbox counted per stream through its (stream_id, id) index.
 */
export async function listAllStreams(db: Kysely<Database>, issuer: string): Promise<AdminSsfStream[]> {
  const rows = await db
    .selectFrom('ssf_streams as s')
    .innerJoin('gateway_keys as g', 'g.id', 's.receiver_key_id')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('ssf_outbox')
          .select(['stream_id', (o) => o.fn.countAll<string>().as('waiting'), (o) => o.fn.min('created_at').as('oldest')])
          .groupBy('stream_id')
          .as('o'),
      (join) => join.onRef('o.stream_id', '=', 's.id'),
    )
    .select([
      's.id', 's.delivery_method', 's.endpoint_url', 's.status', 's.status_reason', 's.description', 's.events_requested', 's.failing_since', 's.last_error', 's.created_at',
      'g.name as receiver', 'g.revoked_at as receiver_revoked_at',
      sql<string | null>`o.waiting`.as('waiting'), sql<Date | null>`o.oldest`.as('oldest'),
    ])
    .orderBy('s.created_at')
    .orderBy('s.id')
    .execute();
  return rows.map((r) => ({
    stream_id: r.id,
    receiver: r.receiver,
    receiver_revoked: r.receiver_revoked_at !== null,
    delivery_method: r.delivery_method === DELIVERY.push ? DELIVERY.push : DELIVERY.poll,
    endpoint_host: hostOf(r.delivery_method === DELIVERY.push ? r.endpoint_url : `${issuer}${pollPath(r.id)}`),
    status: streamStatusValue.parse(r.status),
    status_reason: r.status_reason,
    description: r.description,
    events_requested: r.events_requested,
    waiting: Number(r.waiting ?? 0),
    oldest_waiting_at: r.oldest ? toSeconds(new Date(r.oldest)) : null,
    failing_since: toSeconds(r.failing_since),
    last_error: r.last_error,
    created_at: toSeconds(r.created_at) ?? 0,
  }));
}

/** `GET /v1/admin/ssf/streams`: every receiver's streams, read-only (role viewer); receivers manage their own under /ssf/streams. */
export function ssfAdminRoutes(router: Router, backend: Backend): void {
  router.get(ADMIN_SSF_STREAMS_PATH, requireRole(backend, 'viewer'), async (ctx) => {
    const body: z.infer<typeof adminSsfStreamList> = { streams: await listAllStreams(backend.db, backend.issuer) };
    ctx.body = body;
  });
}

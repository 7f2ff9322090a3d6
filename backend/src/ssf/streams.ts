import { randomUUID } from 'node:crypto';
import { uuid } from '@postern/shared';
import type { Kysely, Selectable } from 'kysely';
import { HttpError } from '../http/http-error.js';
import type { Gateway } from '../gateways/gateway-keys.js';
import type { Database, SsfStreamsTable } from '../store/schema.js';
import { DELIVERY, EVENTS_SUPPORTED, type DeliveryMethod } from './event-types.js';
import { pushUrlRefusal, type AllowList } from './push-address.js';
import type { StreamConfig, StreamInput, StreamStatusValue } from './stream-schemas.js';
import { subjectKey, type SubjectId } from './subjects.js';
import { streamHead } from '../events/read.js';

const isUuid = (value: string) => uuid.safeParse(value).success;

export type StreamRow = Selectable<SsfStreamsTable>;

/** Where a poll stream's receiver polls: the transmitter gives it (RFC 8936 §2.1). */
export const pollPath = (streamId: string) => `/ssf/poll/${streamId}`;

/** The event types a stream gets: what it asked for that is supported (SSF 1.0 §8.1.1: events_delivered). */
export function eventsDelivered(requested: readonly string[]): string[] {
  return EVENTS_SUPPORTED.filter((type) => requested.includes(type));
}

/** A stream's configuration as SSF 1.0 §8.1.1 answers it; the push authorization header is never shown. */
export function configView(row: StreamRow, issuer: string): StreamConfig {
  const method = row.delivery_method as DeliveryMethod;
  const endpoint = method === DELIVERY.poll ? `${issuer}${pollPath(row.id)}` : (row.endpoint_url ?? undefined);
  return {
    stream_id: row.id,
    iss: issuer,
    aud: row.aud.length === 1 ? (row.aud[0] as string) : row.aud,
    events_supported: [...EVENTS_SUPPORTED],
    events_requested: row.events_requested,
    events_delivered: eventsDelivered(row.events_requested),
    delivery: { method, ...(endpoint ? { endpoint_url: endpoint } : {}) },
    ...(row.min_verification_interval !== null ? { min_verification_interval: row.min_verification_interval } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
  };
}

/** The stored columns for what a receiver sent, with the defaults for what it left out; refuses a bad push endpoint. */
function columnsOf(input: StreamInput, receiver: Gateway, allow: AllowList) {
  const method = input.delivery?.method ?? DELIVERY.poll;
  let endpoint: string | null = null;
  if (method === DELIVERY.push) {
    endpoint = input.delivery?.endpoint_url ?? null;
    if (!endpoint) throw new HttpError('malformed', 'a push stream (urn:ietf:rfc:8935) needs delivery.endpoint_url: the receiver\'s HTTPS URL SETs are POSTed to');
    const refusal = pushUrlRefusal(endpoint, allow);
    if (refusal) throw new HttpError('malformed', refusal);
  }
  // A poll stream's endpoint_url is the transmitter's (configView): one sent back, as a PUT of what GET answered does, is ignored.
  const aud = input.aud === undefined ? [receiver.name] : typeof input.aud === 'string' ? [input.aud] : input.aud;
  return {
    aud: JSON.stringify(aud),
    description: input.description ?? null,
    events_requested: JSON.stringify(input.events_requested ?? [...EVENTS_SUPPORTED]),
    delivery_method: method,
    endpoint_url: endpoint,
    authorization_header: method === DELIVERY.push ? (input.delivery?.authorization_header ?? null) : null,
    min_verification_interval: input.min_verification_interval ?? null,
  };
}

export async function createStream(db: Kysely<Database>, receiver: Gateway, input: StreamInput, allow: AllowList): Promise<StreamRow> {
  const columns = columnsOf(input, receiver, allow);
  return db.transaction().execute(async (trx) => {
    // Events already in the stream happened before this stream existed.
    const head = await streamHead(trx);
    return trx
      .insertInto('ssf_streams')
      .values({ id: randomUUID(), receiver_key_id: receiver.id, ...columns, status: 'enabled', after_seq: head })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

/** A receiver's own stream; another receiver's is as unknown as a missing one. */
export async function findStream(db: Kysely<Database>, receiver: Gateway, streamId: string): Promise<StreamRow> {
  const row = !isUuid(streamId) ? undefined : await db.selectFrom('ssf_streams').selectAll().where('id', '=', streamId).where('receiver_key_id', '=', receiver.id).executeTakeFirst();
  if (!row) throw new HttpError('not_found', `no stream ${streamId} for this receiver: list yours with GET /ssf/streams`);
  return row;
}

export function listStreams(db: Kysely<Database>, receiver: Gateway): Promise<StreamRow[]> {
  return db.selectFrom('ssf_streams').selectAll().where('receiver_key_id', '=', receiver.id).orderBy('created_at').execute();
}

/** PATCH changes what the body names; PUT (`replace`) sets everything, with defaults for what it leaves out. */
export async function updateStream(db: Kysely<Database>, receiver: Gateway, row: StreamRow, input: StreamInput, allow: AllowList, replace: boolean): Promise<StreamRow> {
  const merged: StreamInput = replace
    ? input
    : {
        events_requested: input.events_requested ?? row.events_requested,
        delivery: input.delivery ?? { method: row.delivery_method as DeliveryMethod, ...(row.endpoint_url ? { endpoint_url: row.endpoint_url } : {}), ...(row.authorization_header ? { authorization_header: row.authorization_header } : {}) },
        description: input.description !== undefined ? input.description : row.description,
        aud: input.aud ?? row.aud,
        min_verification_interval: input.min_verification_interval !== undefined ? input.min_verification_interval : row.min_verification_interval,
      };
  const columns = columnsOf(merged, receiver, allow);
  // GET never shows the push authorization header, so a PUT or PATCH of what GET answered leaves
  // it out: keep the stored one for a push stream unless the body sends a new one.
  if (columns.delivery_method === DELIVERY.push && merged.delivery?.authorization_header === undefined && row.delivery_method === DELIVERY.push) {
    columns.authorization_header = row.authorization_header;
  }
  return db.updateTable('ssf_streams').set({ ...columns, updated_at: new Date() }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteStream(db: Kysely<Database>, row: StreamRow): Promise<void> {
  await db.deleteFrom('ssf_streams').where('id', '=', row.id).execute();
}

/**
 * SSF 1.0 §8.1.2: `paused` holds SETs until enabled again; `disabled` neither sends nor holds
 * them, so what waits is dropped.
 */
export async function setStreamStatus(db: Kysely<Database>, row: StreamRow, status: StreamStatusValue, reason: string | undefined): Promise<StreamRow> {
  return db.transaction().execute(async (trx) => {
    if (status === 'disabled') await trx.deleteFrom('ssf_outbox').where('stream_id', '=', row.id).execute();
    return trx.updateTable('ssf_streams').set({ status, status_reason: reason ?? null, updated_at: new Date() }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
  });
}

export async function statusView(db: Kysely<Database>, row: StreamRow) {
  const pending = await db.selectFrom('ssf_outbox').select((eb) => eb.fn.countAll().as('n')).where('stream_id', '=', row.id).executeTakeFirst();
  return {
    stream_id: row.id,
    status: row.status as StreamStatusValue,
    ...(row.status_reason ? { reason: row.status_reason } : {}),
    delivery: {
      pending: Number(pending?.n ?? 0),
      failing_since: row.failing_since ? Math.floor(row.failing_since.getTime() / 1000) : null,
      last_error: row.last_error,
    },
  };
}

/** Adds a subject to a stream or removes it (subjects.ts `streamWants` says what either means); the latest call about a subject wins. */
export async function markSubject(db: Kysely<Database>, row: StreamRow, subject: SubjectId, mode: 'added' | 'removed'): Promise<void> {
  await db
    .insertInto('ssf_subjects')
    .values({ stream_id: row.id, subject_key: subjectKey(subject), subject: JSON.stringify(subject), mode })
    .onConflict((oc) => oc.columns(['stream_id', 'subject_key']).doUpdateSet({ mode }))
    .execute();
}

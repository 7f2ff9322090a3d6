import { sql, type Kysely } from 'kysely';
import { JOURNAL_LOCK } from '../store/advisory-locks.js';
import type { Database } from '../store/schema.js';
import type { NewEvent } from './types.js';
import { streamHead } from './read.js';

/** The NOTIFY channel that wakes consumers: its payload is only the newest seq, never the event. */
export const EVENTS_CHANNEL = 'postern_events';

/**
 * Appends events to the stream in the caller's transaction. Sequence numbers are taken under the
 * journal lock, held to commit, so they are gap-free across replicas and become visible in order:
 * a consumer that has read seq N can never later find a smaller one. The NOTIFY is delivered at
 * commit, so no consumer is woken for an event that was rolled back.
 */
export async function appendEvents(trx: Kysely<Database>, events: readonly NewEvent[], at: Date): Promise<number[]> {
  if (events.length === 0) return [];
  if (!trx.isTransaction) throw new Error('appendEvents needs the transaction of the change it records');
  await sql`select pg_advisory_xact_lock(${JOURNAL_LOCK})`.execute(trx);
  const first = (await streamHead(trx)) + 1;
  const rows = events.map((event, i) => ({ seq: first + i, at, type: event.type, actor: event.actor, device_id: event.deviceId, data: JSON.stringify(event.data) }));
  await trx.insertInto('events').values(rows).execute();
  const last = first + events.length - 1;
  await sql`select pg_notify(${EVENTS_CHANNEL}, ${String(last)})`.execute(trx);
  return rows.map((r) => r.seq);
}

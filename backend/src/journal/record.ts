import type { Kysely } from 'kysely';
import { appendAudits } from '../audit/append.js';
import { appendEvents } from '../events/append.js';
import type { NewEvent } from '../events/types.js';
import type { Database } from '../store/schema.js';

/**
 * Records changes in both journals, in the caller's transaction: each becomes an audit entry
 * (kind = event type, detail = event data, hash-chained) and an event of the stream. One call
 * takes the journal lock once; make it after every other write of the transaction (see
 * audit/append.ts).
 */
export async function recordEvents(trx: Kysely<Database>, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (!trx.isTransaction) {
    await trx.transaction().execute((inner) => recordEvents(inner, events));
    return;
  }
  const at = new Date();
  await appendAudits(trx, events.map((e) => ({ actor: e.actor, kind: e.type, deviceId: e.deviceId, detail: e.data })));
  await appendEvents(trx, events, at);
}

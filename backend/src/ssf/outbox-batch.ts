import type { Kysely } from 'kysely';
import type { StreamEvent } from '../events/types.js';
import type { Database } from '../store/schema.js';
import { enqueueSets, type OutboxEntry } from './outbox.js';
import { caepEventsFor } from './set.js';
import type { SsfKeys } from './signing-key.js';
import { eventsDelivered } from './streams.js';
import { isEmail, streamWants, subjectId, type StreamSubjects } from './subjects.js';

/**
 * The SETs a batch of events makes for every stream that is not disabled (a paused stream holds
 * them), for the devices each stream wants and the event types it gets, stored signed.
 */
export async function enqueueOutbox(trx: Kysely<Database>, keys: () => Promise<SsfKeys>, issuer: string, now: number, events: readonly StreamEvent[]): Promise<number> {
  const streams = await trx.selectFrom('ssf_streams').select(['id', 'aud', 'events_requested', 'after_seq']).where('status', '!=', 'disabled').orderBy('id').execute();
  if (streams.length === 0) return 0;
  const deviceIds = [...new Set(events.flatMap((e) => (e.device_id ? [e.device_id] : [])))];
  const owners = new Map((await trx.selectFrom('devices').select(['id', 'owner']).where('id', 'in', deviceIds).execute()).map((d) => [d.id, d.owner]));
  const subjectRows = await trx.selectFrom('ssf_subjects').select(['stream_id', 'subject', 'mode']).where('stream_id', 'in', streams.map((s) => s.id)).execute();
  const subjects = new Map<string, StreamSubjects>();
  for (const row of subjectRows) {
    const parsed = subjectId.safeParse(row.subject);
    if (!parsed.success) continue;
    const entry = subjects.get(row.stream_id) ?? { added: [], removed: [] };
    entry[row.mode === 'added' ? 'added' : 'removed'].push(parsed.data);
    subjects.set(row.stream_id, entry);
  }
  const entries: OutboxEntry[] = [];
  for (const event of events) {
    if (!event.device_id) continue;
    const owner = owners.get(event.device_id) ?? null;
    const about = { deviceId: event.device_id, email: isEmail(owner) ? owner : null };
    const made = caepEventsFor(event, about);
    for (const stream of streams) {
      if (event.seq <= Number(stream.after_seq)) continue;
      if (!streamWants(subjects.get(stream.id) ?? { added: [], removed: [] }, about)) continue;
      const delivered = eventsDelivered(stream.events_requested);
      for (const set of made) if (delivered.includes(set.type)) entries.push({ stream, event: set });
    }
  }
  return entries.length === 0 ? 0 : enqueueSets(trx, await keys(), issuer, now, entries);
}

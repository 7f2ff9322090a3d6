import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { parseEvent, type StreamEvent } from './types.js';

/** Events after `after`, oldest first, at most `limit`; with the position to pass next time. */
export async function readEvents(db: Kysely<Database>, filter: { after: number; limit: number; deviceId?: string; type?: string }): Promise<{ events: StreamEvent[]; next: number }> {
  let query = db.selectFrom('events').selectAll().where('seq', '>', filter.after).orderBy('seq').limit(filter.limit);
  if (filter.deviceId) query = query.where('device_id', '=', filter.deviceId);
  if (filter.type) query = query.where('type', '=', filter.type);
  const rows = await query.execute();
  const events = rows.flatMap((row) => parseEvent(row) ?? []);
  return { events, next: rows.length > 0 ? Number(rows[rows.length - 1]?.seq) : filter.after };
}

/** The seq of the newest event, 0 for an empty stream. */
export async function streamHead(db: Kysely<Database>): Promise<number> {
  const head = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(head?.seq ?? 0);
}

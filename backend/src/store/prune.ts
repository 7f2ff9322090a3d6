import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

const DAY_S = 86_400;
/** A replica's own consumer that has not been heard from this long belongs to a replica that is gone. */
export const CONSUMER_EXPIRY_S = 600;

/**
 * Deletes what has served its purpose, every minute on every replica (deletes are idempotent):
 * DPoP proof ids past their iat window, spends of plain-HTTP nonces past their expiry (the MAC
 * refuses them by then), report history older than its retention, the positions of replicas
 * that are gone, and events older than their retention that every remaining consumer has passed.
 */
export async function pruneExpired(db: Kysely<Database>, now: number, retention: { attestationDays: number; eventDays: number }): Promise<void> {
  const at = new Date(now * 1000);
  await db.deleteFrom('dpop_jtis').where('expires_at', '<', at).execute();
  await db.deleteFrom('spent_nonces').where('expires_at', '<', at).execute();
  await db.deleteFrom('attestations').where('received_at', '<', new Date((now - retention.attestationDays * DAY_S) * 1000)).execute();
  await db.deleteFrom('event_consumers').where('durable', '=', false).where('heartbeat_at', '<', new Date((now - CONSUMER_EXPIRY_S) * 1000)).execute();
  // The slowest consumer's position bounds what may go; with no consumer at all, only age does.
  await db
    .deleteFrom('events')
    .where('at', '<', new Date((now - retention.eventDays * DAY_S) * 1000))
    .where('seq', '<=', sql<number>`coalesce((select min(last_seq) from event_consumers), (select max(seq) from events))`)
    .execute();
}

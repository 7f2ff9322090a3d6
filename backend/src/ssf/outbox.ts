import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { signSet, type SecurityEvent } from './set.js';
import type { SsfKeys } from './signing-key.js';
import type { StreamRow } from './streams.js';

export interface OutboxEntry {
  stream: Pick<StreamRow, 'id' | 'aud'>;
  event: SecurityEvent;
}

/**
 * Signs each SET once and stores it for its stream, in the caller's transaction: the jti is fixed
 * here, so every redelivery (after a timeout, a restart, a lost acknowledgement) carries the same.
 */
export async function enqueueSets(trx: Kysely<Database>, keys: SsfKeys, issuer: string, now: number, entries: readonly OutboxEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const rows = [];
  for (const { stream, event } of entries) {
    const { jti, jwt } = await signSet(keys, { issuer, audience: stream.aud, event, now });
    rows.push({ stream_id: stream.id, jti, event_type: event.type, seq: event.seq, set_jwt: jwt, next_attempt_at: new Date(now * 1000) });
  }
  await trx.insertInto('ssf_outbox').values(rows).execute();
  return rows.length;
}

import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

const DAY_S = 86_400;

/**
 * Deletes what has served its purpose, every minute on every replica (deletes are idempotent):
 * DPoP proof ids past their iat window, plain-HTTP nonces never spent (anyone may ask for one,
 * so they must not pile up), and report history older than the retention period.
 */
export async function pruneExpired(db: Kysely<Database>, now: number, attestationRetentionDays: number): Promise<void> {
  const at = new Date(now * 1000);
  await db.deleteFrom('dpop_jtis').where('expires_at', '<', at).execute();
  await db.deleteFrom('nonces').where('expires_at', '<', at).execute();
  await db.deleteFrom('attestations').where('received_at', '<', new Date((now - attestationRetentionDays * DAY_S) * 1000)).execute();
}

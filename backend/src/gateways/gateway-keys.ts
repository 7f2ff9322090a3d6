import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append.js';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'pgk';

/** Creates a gateway API key; the plain key is returned once and only its hash is kept. */
export async function createGatewayKey(db: Kysely<Database>, name: string, actor: string) {
  const id = randomUUID();
  const key = newIdentifiedSecret(PREFIX, id);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('gateway_keys').values({ id, name, key_hash: hashSecret(key) }).execute();
    await appendAudit(trx, { actor, kind: 'gateway_key.created', detail: { gateway_key_id: id, name } });
  });
  return { id, name, key };
}

/** The gateway a presented key belongs to, or null; the secret is compared in constant time. */
export async function authenticateGateway(db: Kysely<Database>, presented: string): Promise<{ id: string; name: string } | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db.selectFrom('gateway_keys').select(['id', 'name', 'key_hash']).where('id', '=', parsed.id).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row || !digestsEqual(row.key_hash, hashSecret(presented))) return null;
  return { id: row.id, name: row.name };
}

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { uuid as uuidText } from '@postern/shared';
import { appendAudit } from '../audit/append.js';
import { recordEvents } from '../journal/record.js';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

export const GATEWAY_KEY_PREFIX = 'pgk';
const PREFIX = GATEWAY_KEY_PREFIX;

/**
 * What a gateway key may do: `authz` forward-auth and the compliance API (every key made before
 * scopes existed has it), `ssf` manage and receive Shared Signals streams (ssf/).
 */
export const gatewayScope = z.enum(['authz', 'ssf']);
export type GatewayScope = z.infer<typeof gatewayScope>;
export const DEFAULT_GATEWAY_SCOPES: readonly GatewayScope[] = ['authz'];

export interface Gateway {
  id: string;
  name: string;
  scopes: GatewayScope[];
}

/** Creates a gateway API key; the plain key is returned once and only its hash is kept. */
export async function createGatewayKey(db: Kysely<Database>, name: string, actor: string, scopes: readonly GatewayScope[] = DEFAULT_GATEWAY_SCOPES) {
  const id = randomUUID();
  const key = newIdentifiedSecret(PREFIX, id);
  const unique = [...new Set(scopes)].sort();
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('gateway_keys').values({ id, name, key_hash: hashSecret(key), scopes: JSON.stringify(unique) }).execute();
    await appendAudit(trx, { actor, kind: 'gateway_key.created', detail: { gateway_key_id: id, name, scopes: unique } });
  });
  return { id, name, key, scopes: unique };
}

/**
 * The gateway a presented key belongs to, or null; the secret is compared in constant time.
 * The caller checks the scope it needs (`hasScope`), so a known key lacking it is told 403, not 401.
 */
export async function authenticateGateway(db: Kysely<Database>, presented: string): Promise<Gateway | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db.selectFrom('gateway_keys').select(['id', 'name', 'key_hash', 'scopes']).where('id', '=', parsed.id).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row || !digestsEqual(row.key_hash, hashSecret(presented))) return null;
  // Fails closed: a scope this version does not know (a newer release wrote it) grants nothing, and never turns into authz.
  const stored = z.array(z.string()).catch([]).parse(row.scopes);
  return { id: row.id, name: row.name, scopes: stored.flatMap((scope) => { const known = gatewayScope.safeParse(scope); return known.success ? [known.data] : []; }) };
}

export function hasScope(gateway: Gateway, scope: GatewayScope): boolean {
  return gateway.scopes.includes(scope);
}

/** A gateway key as the admin API shows it: never the key or its hash. */
export interface GatewayKeyView {
  id: string;
  name: string;
  scopes: string[];
  created_at: number;
  revoked_at: number | null;
}

const viewOf = (row: { id: string; name: string; scopes: unknown; created_at: Date; revoked_at: Date | null }): GatewayKeyView => ({
  id: row.id,
  name: row.name,
  scopes: z.array(z.string()).catch([]).parse(row.scopes),
  created_at: Math.floor(row.created_at.getTime() / 1000),
  revoked_at: row.revoked_at ? Math.floor(row.revoked_at.getTime() / 1000) : null,
});

/** Every gateway key, newest first; revoked ones only when asked. */
export async function listGatewayKeys(db: Kysely<Database>, options: { withRevoked: boolean }): Promise<GatewayKeyView[]> {
  let query = db.selectFrom('gateway_keys').select(['id', 'name', 'scopes', 'created_at', 'revoked_at']).orderBy('created_at', 'desc').orderBy('id');
  if (!options.withRevoked) query = query.where('revoked_at', 'is', null);
  return (await query.execute()).map(viewOf);
}

/**
 * Revokes a gateway key, with its audit entry and a `gateway_key.revoked` event in one
 * transaction: every replica drops the key from memory when it reads the event, as it drops a
 * revoked device's standing. Revoking a revoked key changes nothing. Null for an unknown id.
 */
export async function revokeGatewayKey(db: Kysely<Database>, id: string, actor: string, now: number): Promise<GatewayKeyView | null> {
  if (!uuidText.safeParse(id).success) return null;
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('gateway_keys').select(['id', 'name', 'scopes', 'created_at', 'revoked_at']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!current || current.revoked_at !== null) return current ? viewOf(current) : null;
    const revoked = await trx.updateTable('gateway_keys').set({ revoked_at: new Date(now * 1000) }).where('id', '=', id).returning(['id', 'name', 'scopes', 'created_at', 'revoked_at']).executeTakeFirstOrThrow();
    await recordEvents(trx, [{ type: 'gateway_key.revoked', actor, deviceId: null, data: { gateway_key_id: id, name: current.name } }]);
    return viewOf(revoked);
  });
}

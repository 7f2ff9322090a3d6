import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import { deviceKid } from '@postern/shared';
import { FIRST_KEY_LOCK } from '../store/advisory-locks.js';
import type { Database } from '../store/schema.js';


export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

export interface ServerKeys {
  /** The key new results are signed with: the newest one not retired. */
  active: SigningKey;
  /** Public keys for `/.well-known/jwks.json` and for verifying our own tokens. */
  jwks: { keys: JWK[] };
}

/**
 * Loads the backend's ES256 result-signing keys, creating the first one on a fresh database.
 * Keys live in the database so every replica signs and verifies with the same set.
 */
export async function loadServerKeys(db: Kysely<Database>): Promise<ServerKeys> {
  const current = () => db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).orderBy('created_at', 'desc').execute();
  let rows = await current();
  if (rows.length === 0) {
    // Replicas starting together on an empty database must agree on one first key, or each
    // would publish a JWKS the others' tokens do not verify against: decide under a lock.
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${FIRST_KEY_LOCK})`.execute(trx);
      const existing = await trx.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).executeTakeFirst();
      if (existing) return;
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const publicJwk = await exportJWK(publicKey);
      const kid = await deviceKid(publicJwk);
      await trx.insertInto('signing_keys').values({ kid, private_jwk: JSON.stringify(await exportJWK(privateKey)), public_jwk: JSON.stringify(publicJwk) }).execute();
    });
    rows = await current();
  }
  const newest = rows[0];
  if (!newest) throw new Error('no signing key could be created');
  const privateKey = (await importJWK(newest.private_jwk, 'ES256')) as CryptoKey;
  return {
    active: { kid: newest.kid, privateKey },
    jwks: { keys: rows.map((r) => ({ ...r.public_jwk, kid: r.kid, alg: 'ES256', use: 'sig' })) },
  };
}

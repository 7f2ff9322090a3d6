import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import { FIRST_SSF_KEY_LOCK } from '../store/advisory-locks.js';
import type { Database } from '../store/schema.js';

/** SETs are RS256 (what SSF receivers such as identity providers verify), never the ES256 result-token key. */
export const SET_ALG = 'RS256';

export interface SsfKeys {
  kid: string;
  privateKey: CryptoKey;
  /** For `jwks_uri`: public members only. */
  jwks: { keys: JWK[] };
}

/**
 * Loads the transmitter's RS256 key, creating it on a fresh database under a lock so replicas
 * starting together publish one key. Kept in the store, so every replica signs with it.
 */
export async function loadSsfKeys(db: Kysely<Database>): Promise<SsfKeys> {
  const current = () => db.selectFrom('ssf_signing_keys').selectAll().where('retired_at', 'is', null).orderBy('created_at', 'desc').execute();
  let rows = await current();
  if (rows.length === 0) {
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${FIRST_SSF_KEY_LOCK})`.execute(trx);
      if (await trx.selectFrom('ssf_signing_keys').select('kid').where('retired_at', 'is', null).executeTakeFirst()) return;
      const { privateKey, publicKey } = await generateKeyPair(SET_ALG, { extractable: true, modulusLength: 2048 });
      const publicJwk = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(publicJwk);
      await trx.insertInto('ssf_signing_keys').values({ kid, private_jwk: JSON.stringify(await exportJWK(privateKey)), public_jwk: JSON.stringify(publicJwk) }).execute();
    });
    rows = await current();
  }
  const newest = rows[0];
  if (!newest) throw new Error('no SSF signing key could be created');
  return {
    kid: newest.kid,
    privateKey: (await importJWK(newest.private_jwk, SET_ALG)) as CryptoKey,
    jwks: { keys: rows.map((r) => ({ kty: r.public_jwk.kty, n: r.public_jwk.n, e: r.public_jwk.e, kid: r.kid, alg: SET_ALG, use: 'sig' })) },
  };
}

import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import { deviceKid } from '@postern/shared';
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
  let rows = await db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).orderBy('created_at', 'desc').execute();
  if (rows.length === 0) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await deviceKid(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    // Two replicas starting together may both generate; the loser's key is simply never used.
    await db
      .insertInto('signing_keys')
      .values({ kid, private_jwk: JSON.stringify(privateJwk), public_jwk: JSON.stringify(publicJwk) })
      .onConflict((oc) => oc.doNothing())
      .execute();
    rows = await db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).orderBy('created_at', 'desc').execute();
  }
  const newest = rows[0];
  if (!newest) throw new Error('no signing key could be created');
  const privateKey = (await importJWK(newest.private_jwk, 'ES256')) as CryptoKey;
  return {
    active: { kid: newest.kid, privateKey },
    jwks: { keys: rows.map((r) => ({ ...r.public_jwk, kid: r.kid, alg: 'ES256', use: 'sig' })) },
  };
}

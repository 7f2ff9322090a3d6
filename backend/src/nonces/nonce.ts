import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

/** A fresh nonce: 32 random bytes, base64url. */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

const HTTP_NONCE_TTL_S = 300;

/** Issues a nonce for the plain-HTTP exchange, stored hashed so any replica can consume it. */
export async function issueHttpNonce(db: Kysely<Database>, now: number): Promise<string> {
  const nonce = newNonce();
  await db.insertInto('nonces').values({ nonce_hash: hashSecret(nonce), expires_at: new Date((now + HTTP_NONCE_TTL_S) * 1000) }).execute();
  return nonce;
}

/** Consumes a nonce once: true if it was issued, unexpired and not used before. */
export async function consumeHttpNonce(db: Kysely<Database>, nonce: string, now: number): Promise<boolean> {
  const row = await db.deleteFrom('nonces').where('nonce_hash', '=', hashSecret(nonce)).returning('expires_at').executeTakeFirst();
  return row !== undefined && row.expires_at.getTime() > now * 1000;
}

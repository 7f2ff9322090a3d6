import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

export const HTTP_NONCE_TTL_S = 300;

// 32 bytes, the protocol's nonce size: expiry (uint32 seconds) ‖ 12 random bytes ‖ the first 16
// bytes of HMAC-SHA256(key, label ‖ expiry ‖ random). A 128-bit tag leaves a forger 2^-128 a try;
// 96 random bits keep two nonces of one expiry second apart. Issuing writes nothing; only the spend does.
const EXPIRY = 4;
const RANDOM = 12;
const TAG = 16;
const LABEL = Buffer.from('postern http nonce v1\0');

/** Issues and checks self-verifying plain-HTTP nonces with the MAC key every replica shares. */
export class HttpNonces {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('the nonce MAC key must be at least 32 bytes');
  }

  issue(now: number): string {
    const body = Buffer.alloc(EXPIRY + RANDOM);
    body.writeUInt32BE(now + HTTP_NONCE_TTL_S, 0);
    randomBytes(RANDOM).copy(body, EXPIRY);
    return Buffer.concat([body, this.tag(body)]).toString('base64url');
  }

  /** When a nonce this server issued expires, or null for a forged, malformed or expired one. */
  expiry(nonce: string, now: number): number | null {
    const raw = Buffer.from(nonce, 'base64url');
    // The canonical spelling only: base64url's spare low bits would give one nonce four spellings.
    if (raw.length !== EXPIRY + RANDOM + TAG || raw.toString('base64url') !== nonce) return null;
    const body = raw.subarray(0, EXPIRY + RANDOM);
    if (!timingSafeEqual(raw.subarray(EXPIRY + RANDOM), this.tag(body))) return null;
    const expiresAt = body.readUInt32BE(0);
    return expiresAt > now ? expiresAt : null;
  }

  private tag(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(LABEL).update(body).digest().subarray(0, TAG);
  }
}

/**
 * Records that an attestation used this nonce: true the first time, on whichever replica, false
 * after. The row is kept until the nonce expires (store/prune.ts), when the MAC refuses it anyway.
 */
export async function spendHttpNonce(db: Kysely<Database>, nonce: string, expiresAt: number): Promise<boolean> {
  const row = await db
    .insertInto('spent_nonces')
    .values({ nonce_hash: hashSecret(nonce), expires_at: new Date(expiresAt * 1000) })
    .onConflict((oc) => oc.column('nonce_hash').doNothing())
    .returning('nonce_hash')
    .executeTakeFirst();
  return row !== undefined;
}

/** The MAC key, made by the first replica on an empty database; the insert that loses a race changes nothing. */
export async function loadHttpNonces(db: Kysely<Database>): Promise<HttpNonces> {
  const name = 'nonce-hmac';
  await db
    .insertInto('server_secrets')
    .values({ name, secret: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('server_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow();
  return new HttpNonces(Buffer.from(row.secret, 'base64url'));
}

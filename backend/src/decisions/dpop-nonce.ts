import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** A nonce names one window of this length; the current and the previous window's nonces are accepted. */
export const DPOP_NONCE_WINDOW_S = 300;

// window number (uint32) ‖ the first 16 bytes of HMAC-SHA256(key, label ‖ window number). Nothing is
// stored: every replica holding the key computes the same nonce for a window and checks it alone.
// A nonce bounds when a proof was made; the proof's jti stays what stops a replay.
const WINDOW = 4;
const TAG = 16;
const LABEL = Buffer.from('postern dpop nonce v1\0');

/**
 * Stateless RFC 9449 §8 server nonces, keyed by a secret every replica shares.
 *
 * @example
 * const nonces = new DpopNonces(key);
 * const nonce = nonces.current(now); // send as the DPoP-Nonce header
 * nonces.accepts(nonce, now + 299); // → true: still this or the previous window
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export class DpopNonces {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('the DPoP nonce MAC key must be at least 32 bytes');
  }

  /** The nonce of the window `now` (seconds) falls in. */
  current(now: number): string {
    return this.forWindow(Math.floor(now / DPOP_NONCE_WINDOW_S));
  }

  /** True for this window's nonce and the previous one's, in their one canonical spelling only. */
  accepts(nonce: string, now: number): boolean {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== WINDOW + TAG || raw.toString('base64url') !== nonce) return false;
    const window = raw.readUInt32BE(0);
    const current = Math.floor(now / DPOP_NONCE_WINDOW_S);
    if (window !== current && window !== current - 1) return false;
    return timingSafeEqual(raw, Buffer.from(this.forWindow(window), 'base64url'));
  }

  private forWindow(window: number): string {
    const head = Buffer.alloc(WINDOW);
    head.writeUInt32BE(window, 0);
    const tag = createHmac('sha256', this.key).update(LABEL).update(head).digest().subarray(0, TAG);
    return Buffer.concat([head, tag]).toString('base64url');
  }
}

/** The MAC key, made by the first replica that needs it; the insert that loses a race changes nothing. */
export async function loadDpopNonces(db: Kysely<Database>): Promise<DpopNonces> {
  const name = 'dpop-nonce-hmac';
  await db.insertInto('server_secrets').values({ name, secret: randomBytes(32).toString('base64url') }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('server_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow();
  return new DpopNonces(Buffer.from(row.secret, 'base64url'));
}

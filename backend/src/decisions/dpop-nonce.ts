import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** A nonce names one window of this length; the current and the previous window's nonces are accepted. */
export const DPOP_NONCE_WINDOW_S = 300;

/**
 * POSTERN_DPOP_NONCE: `1` nonces every replica accepts (a secret shared through the database), so
 * proof ids are spent in the database for every replica; `replica` nonces only the process that
 * issued them accepts, so proof ids are spent in that process's memory (decisions/replay-record.ts).
 */
export type DpopNonceMode = 'shared' | 'replica';

export function dpopNonceModeFromEnv(env: NodeJS.ProcessEnv): DpopNonceMode | null {
  const raw = env.POSTERN_DPOP_NONCE;
  if (raw === undefined || raw === '' || raw === '0') return null;
  if (raw === '1') return 'shared';
  if (raw === 'replica') return 'replica';
  throw new Error(`POSTERN_DPOP_NONCE=${JSON.stringify(raw)} must be 1 (nonces any replica accepts), replica (nonces only the replica that issued them accepts) or 0 (off)`);
}

// window number (uint32) ‖ the first 16 bytes of HMAC-SHA256(key, label ‖ window number). Nothing is
// stored: whoever holds the key computes the same nonce for a window and checks it alone.
const WINDOW = 4;
const TAG = 16;
const LABEL = Buffer.from('postern dpop nonce v1\0');

/**
 * Stateless RFC 9449 §8 server nonces. Keyed by a secret every replica shares (`shared`), or by
 * a random key this process made at start and never wrote anywhere (`replica`): then only this
 * process, in this run, accepts its nonces, which is what lets it keep its replay record alone.
 *
 * @example
 * const nonces = new DpopNonces(key, 'shared');
 * const nonce = nonces.current(now); // send as the DPoP-Nonce header
 * nonces.accepts(nonce, now + 299); // → true: still this or the previous window
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export class DpopNonces {
  #window = -1;
  #current = '';
  /** The raw nonces of the last few windows asked about: a MAC per request was a few % of forward-auth (profiled). */
  readonly #raw = new Map<number, Buffer>();

  constructor(
    private readonly key: Buffer,
    readonly mode: DpopNonceMode,
  ) {
    if (key.length < 32) throw new Error('the DPoP nonce MAC key must be at least 32 bytes');
  }

  /** Nonces only this process accepts, until it exits. */
  static forThisReplica(): DpopNonces {
    return new DpopNonces(randomBytes(32), 'replica');
  }

  /** The nonce of the window `now` (seconds) falls in. */
  current(now: number): string {
    // Every answer carries it: computed once per window.
    const window = Math.floor(now / DPOP_NONCE_WINDOW_S);
    if (window !== this.#window) {
      this.#current = this.forWindow(window);
      this.#window = window;
    }
    return this.#current;
  }

  /** True for this window's nonce and the previous one's, in their one canonical spelling only. */
  accepts(nonce: string, now: number): boolean {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== WINDOW + TAG || raw.toString('base64url') !== nonce) return false;
    const window = raw.readUInt32BE(0);
    const current = Math.floor(now / DPOP_NONCE_WINDOW_S);
    if (window !== current && window !== current - 1) return false;
    return timingSafeEqual(raw, this.rawForWindow(window));
  }

  private forWindow(window: number): string {
    return this.rawForWindow(window).toString('base64url');
  }

  private rawForWindow(window: number): Buffer {
    const known = this.#raw.get(window);
    if (known) return known;
    const head = Buffer.alloc(WINDOW);
    head.writeUInt32BE(window, 0);
    const tag = createHmac('sha256', this.key).update(LABEL).update(head).digest().subarray(0, TAG);
    const raw = Buffer.concat([head, tag]);
    // Only the current and the previous window are accepted: three is enough across a window's turn.
    if (this.#raw.size >= 3) this.#raw.delete(this.#raw.keys().next().value as number);
    this.#raw.set(window, raw);
    return raw;
  }
}

/** The nonces of `mode`; the shared MAC key is made by the first replica that needs it, and the insert that loses a race changes nothing. */
export async function loadDpopNonces(db: Kysely<Database>, mode: DpopNonceMode): Promise<DpopNonces> {
  if (mode === 'replica') return DpopNonces.forThisReplica();
  const name = 'dpop-nonce-hmac';
  await db.insertInto('server_secrets').values({ name, secret: randomBytes(32).toString('base64url') }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('server_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow();
  return new DpopNonces(Buffer.from(row.secret, 'base64url'), 'shared');
}

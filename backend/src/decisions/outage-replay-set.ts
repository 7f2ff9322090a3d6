import type { Outcome } from '../store/micro-batch.js';
import { DatabaseUnavailableError } from '../store/open.js';
import type { JtiSpend } from './dpop.js';

/**
 * DPoP proof ids spent on this replica while the database could not record them. Each proof
 * stays single-use here (RFC 9449 §11.1); other replicas do not see these spends, so during an
 * outage one proof could be accepted once by each replica. A proof is bound to one method, URL,
 * token and device key and lives two minutes, so that costs a captured proof at most one reuse
 * per replica within that window. Ids are kept until their proof expires, also after the
 * database is back (it never heard of them), and checked before the database.
 */
export class OutageReplaySet {
  /** jti hash → expiry (ms). Proofs expire in the order they were spent: a Map keeps that order. */
  readonly #spent = new Map<string, number>();

  constructor(private readonly capacity = 200_000) {}

  /** True for a proof id spent here during an outage and not expired. */
  has(jtiHash: string, nowMs = Date.now()): boolean {
    this.#purge(nowMs);
    return this.#spent.has(jtiHash);
  }

  /** Spends proof ids here: true for each one not seen before. Full of live ids, it fails closed as the database would. */
  spend(spends: readonly JtiSpend[], nowMs = Date.now()): Array<Outcome<boolean>> {
    this.#purge(nowMs);
    return spends.map((spend): Outcome<boolean> => {
      if (this.#spent.has(spend.jtiHash)) return { ok: true, value: false };
      if (this.#spent.size >= this.capacity) return { ok: false, error: new DatabaseUnavailableError(`${this.capacity} DPoP proofs were spent in memory during this database outage`) };
      this.#spent.set(spend.jtiHash, spend.expiresAt.getTime());
      return { ok: true, value: true };
    });
  }

  get size(): number {
    return this.#spent.size;
  }

  #purge(nowMs: number): void {
    for (const [hash, expiresAt] of this.#spent) {
      if (expiresAt > nowMs) break;
      this.#spent.delete(hash);
    }
  }
}

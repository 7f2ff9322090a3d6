import type { Outcome } from '../store/micro-batch.js';
import { DatabaseUnavailableError } from '../store/open.js';
import type { JtiSpend } from './dpop.js';
import { SpentProofIds } from './replay-record.js';

/**
 * DPoP proof ids spent on this replica while the database could not record them. Each proof
 * stays single-use here (RFC 9449 §11.1); other replicas do not see these spends, so during an
 * outage one proof could be accepted once by each replica. A proof is bound to one method, URL,
 * token and device key and lives two minutes, so that costs a captured proof at most one reuse
 * per replica within that window. Ids are kept until their proof expires, also after the
 * database is back (it never heard of them), and checked before the database.
 */
export class OutageReplaySet {
  readonly #spent: SpentProofIds;

  constructor(capacity = 200_000) {
    this.#spent = new SpentProofIds(capacity);
  }

  /** True for a proof id spent here during an outage and not expired. */
  has(jtiHash: string, nowMs = Date.now()): boolean {
    return this.#spent.has(jtiHash, nowMs);
  }

  /** Spends proof ids here: true for each one not seen before. Full of live ids, it fails closed as the database would. */
  spend(spends: readonly JtiSpend[], nowMs = Date.now()): Array<Outcome<boolean>> {
    return spends.map((spend): Outcome<boolean> => {
      const outcome = this.#spent.spend(spend, nowMs);
      if (outcome === 'full') return { ok: false, error: new DatabaseUnavailableError(`${this.#spent.capacity} DPoP proofs were spent in memory during this database outage`) };
      return { ok: true, value: outcome === 'fresh' };
    });
  }

  get size(): number {
    return this.#spent.size;
  }
}

import type { JtiSpend } from './dpop.js';

/**
 * DPoP proof ids (hashes) spent in this process's memory, each kept until its proof expires.
 * Proofs expire in the order they were spent (two iat windows after the server clock), so a Map,
 * which keeps insertion order, forgets the expired ones from its front. Bounded: full of live
 * ids it refuses new ones, and the caller fails closed.
 */
export class SpentProofIds {
  /** jti hash → expiry (ms). */
  readonly #spent = new Map<string, number>();

  constructor(readonly capacity: number) {}

  /** True for an id spent here and not expired. */
  has(jtiHash: string, nowMs = Date.now()): boolean {
    this.#purge(nowMs);
    return this.#spent.has(jtiHash);
  }

  /** `fresh` the first time an id is spent, `seen` after, `full` when no live id can be dropped for it. */
  spend(spend: JtiSpend, nowMs = Date.now()): 'fresh' | 'seen' | 'full' {
    this.#purge(nowMs);
    if (this.#spent.has(spend.jtiHash)) return 'seen';
    if (this.#spent.size >= this.capacity) return 'full';
    this.#spent.set(spend.jtiHash, spend.expiresAt.getTime());
    return 'fresh';
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

/**
 * Most proof ids one replica holds with `POSTERN_DPOP_NONCE=replica`: two minutes of 8,000
 * forward-auth requests a second (about 150 bytes each, so at most about 150 MB).
 */
export const REPLICA_REPLAY_CAPACITY = 1_000_000;

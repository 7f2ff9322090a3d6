import type { Kysely } from 'kysely';
import { authenticateGateway, GATEWAY_KEY_PREFIX, type Gateway } from '../gateways/gateway-keys.js';
import { digestsEqual, hashSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import type { Database } from '../store/schema.js';

/** A key the database accepted is checked there again at most this often (per replica). */
export const GATEWAY_RECHECK_MS = 1_000;
/** Keys kept: only keys the database accepted are, so a deployment's own keys, far fewer than this. */
const MAX_ACCEPTED = 1_000;

interface Accepted {
  gateway: Gateway;
  keyHash: string;
  /** When the database last accepted the key: ms on the monotonic clock, and s on the server clock. */
  checkedMs: number;
  checkedAt: number;
}

/**
 * Gateway API keys as the database last accepted them, so the compliance API reads no row per
 * request. A key the database accepted less than {@link GATEWAY_RECHECK_MS} ago is compared with
 * the hash kept here, in constant time; an older one is checked in the database again (once,
 * however many requests ask meanwhile). A revocation is a `gateway_key.revoked` event: each
 * replica forgets the key as soon as it reads the event (`forget`, from the decision cache's
 * consumer), as it forgets a revoked device's standing; the second's recheck bounds a replica
 * whose consumer is behind. An unknown key is asked of the database every time. While the database does
 * not answer, a key it accepted within `maxAgeS` is still accepted; any other fails with the
 * database's error (503). Only hashes of keys are kept.
 */
export class GatewayMemory {
  // A Map, not an LRU: the read on every request is a plain lookup; past the bound the oldest key goes.
  readonly #accepted = new Map<string, Accepted>();
  readonly #checks = new Map<string, Promise<Gateway | null>>();
  /** Keys this replica heard revoked: a revocation is for good, and a read begun before it must not bring the key back. */
  readonly #revoked = new Set<string>();

  constructor(private readonly options: { maxAgeS: number; now(): number; recheckMs?: number }) {}

  async authenticate(db: Kysely<Database>, presented: string): Promise<Gateway | null> {
    const id = parseIdentifiedSecret(GATEWAY_KEY_PREFIX, presented)?.id;
    if (!id || this.#revoked.has(id)) return null;
    const keyHash = hashSecret(presented);
    const known = this.#accepted.get(id);
    const matches = known !== undefined && digestsEqual(known.keyHash, keyHash);
    if (matches && performance.now() - known.checkedMs < (this.options.recheckMs ?? GATEWAY_RECHECK_MS)) return known.gateway;
    try {
      return await this.#check(db, id, presented, keyHash);
    } catch (error) {
      if (isDatabaseUnavailable(error) && matches && this.options.now() < known.checkedAt + this.options.maxAgeS) return known.gateway;
      throw error;
    }
  }

  /** A revoked key: refused here from now on. */
  forget(keyId: string): void {
    this.#revoked.add(keyId);
    this.#accepted.delete(keyId);
  }

  #check(db: Kysely<Database>, id: string, presented: string, keyHash: string): Promise<Gateway | null> {
    // Requests with the same key share one read; a different secret under the same id reads alone.
    const slot = `${id}:${keyHash}`;
    const pending = this.#checks.get(slot);
    if (pending) return pending;
    const check = authenticateGateway(db, presented)
      .then((gateway) => {
        if (gateway && !this.#revoked.has(id)) this.#accept(id, { gateway, keyHash, checkedMs: performance.now(), checkedAt: this.options.now() });
        else if (this.#accepted.get(id)?.keyHash === keyHash) this.#accepted.delete(id);
        return this.#revoked.has(id) ? null : gateway;
      })
      .finally(() => this.#checks.delete(slot));
    this.#checks.set(slot, check);
    return check;
  }

  #accept(id: string, accepted: Accepted): void {
    this.#accepted.delete(id);
    this.#accepted.set(id, accepted);
    if (this.#accepted.size > MAX_ACCEPTED) this.#accepted.delete(this.#accepted.keys().next().value as string);
  }
}

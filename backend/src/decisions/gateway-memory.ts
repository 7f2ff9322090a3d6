import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { authenticateGateway } from '../gateways/gateway-keys.js';
import { hashSecret } from '../secrets/secret.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import type { Database } from '../store/schema.js';

type Gateway = { id: string; name: string };

/**
 * Gateway API keys as the database last accepted them, for the compliance API during a database
 * outage. While the database answers, every request is checked there (a revoked key is refused at
 * once; nothing tells replicas about revocations). While it does not, a key the database accepted
 * within `maxAgeS` is still accepted; any other fails with the database's error (503). Only hashes
 * of keys are kept.
 */
export class GatewayMemory {
  readonly #accepted = new LRUCache<string, Gateway & { at: number }>({ max: 1_000 });

  constructor(private readonly options: { maxAgeS: number; now(): number }) {}

  async authenticate(db: Kysely<Database>, presented: string): Promise<Gateway | null> {
    const hash = hashSecret(presented);
    const now = this.options.now();
    try {
      const gateway = await authenticateGateway(db, presented);
      if (gateway) this.#accepted.set(hash, { ...gateway, at: now });
      else this.#accepted.delete(hash);
      return gateway;
    } catch (error) {
      const remembered = this.#accepted.get(hash);
      if (isDatabaseUnavailable(error) && remembered && now < remembered.at + this.options.maxAgeS) return { id: remembered.id, name: remembered.name };
      throw error;
    }
  }
}

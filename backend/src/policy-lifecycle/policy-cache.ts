import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { DEFAULT_SLOT, defaultPolicy } from '../policy/default-policy.js';
import { compilePolicy, documentFromStored } from '../policy/document.js';
import { policyRef } from '../policy/evaluate.js';
import type { Policy } from '../policy/types.js';

/**
 * The active policy of every group, in memory, so judging an attestation needs no query for
 * policy. Reloaded when this or another replica activates a version (policy/policy-reload.ts, on `policy.applied` events).
 * Compiled versions are kept by id, so a reload compiles only what changed.
 */
export class PolicyCache {
  private active = new Map<string, Policy>();
  private readonly compiled = new Map<number, Policy>();
  private readonly byRef = new Map<string, Policy>();

  constructor(private readonly db: Kysely<Database>) {}

  static async load(db: Kysely<Database>): Promise<PolicyCache> {
    const cache = new PolicyCache(db);
    await cache.reload();
    return cache;
  }

  async reload(): Promise<void> {
    const rows = await this.db
      .selectFrom('active_policies')
      .innerJoin('policy_versions', 'policy_versions.id', 'active_policies.version_id')
      .select(['policy_versions.id', 'policy_versions.group_name', 'policy_versions.version', 'policy_versions.document'])
      .execute();
    const next = new Map<string, Policy>();
    for (const row of rows) {
      let policy = this.compiled.get(row.id);
      if (!policy) {
        policy = compilePolicy(documentFromStored(row.document, `${row.group_name}@${row.version}`), row.group_name, row.version);
        this.compiled.set(row.id, policy);
        this.byRef.set(policyRef(policy), policy);
      }
      next.set(row.group_name, policy);
    }
    this.active = next;
  }

  /** The policy that judges a device of this group: its own, else the `default` slot's, else the shipped default. */
  forGroup(group: string): Policy {
    return this.active.get(group) ?? this.active.get(DEFAULT_SLOT) ?? defaultPolicy;
  }

  /** Whether the group has a policy of its own (not the default). */
  hasOwn(group: string): boolean {
    return group !== DEFAULT_SLOT && this.active.has(group);
  }

  /** A compiled version by reference (`contractors@3`), if this replica has loaded it. */
  byReference(ref: string): Policy | undefined {
    return this.byRef.get(ref) ?? (ref === policyRef(defaultPolicy) && !this.active.has(DEFAULT_SLOT) ? defaultPolicy : undefined);
  }

  /** Slots with an active version. */
  slots(): string[] {
    return [...this.active.keys()].sort();
  }
}

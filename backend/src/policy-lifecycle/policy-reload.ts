import type { ConsumerSpec } from '../events/consumer.js';
import type { PolicyCache } from './policy-cache.js';

/** Keeps this replica's policy cache current: reloads it when any replica applies a policy. */
export function policyReload(policies: PolicyCache): ConsumerSpec {
  return {
    name: 'policy-cache',
    durable: false,
    async handle(events) {
      if (events.some((e) => e.type === 'policy.applied')) await policies.reload();
    },
  };
}

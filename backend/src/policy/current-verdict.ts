import type { CheckResult, Verdict } from '@postern/shared';
import { checksOf, toSeconds } from '../devices/repository.js';
import type { DevicePosture, DeviceStatus } from '../store/schema.js';
import { verdictAt } from './evaluate.js';
import type { PolicyCache } from './policy-cache.js';
import type { Policy } from './types.js';

/**
 * The verdict a device has right now, as gateways are told: its stored checks judged by the
 * policy version that produced them (after an apply, the new one), its standing, and the age
 * of its report. Decisions, dry runs and re-evaluation all start from this.
 */
export function currentVerdict(
  policies: PolicyCache,
  device: { status: DeviceStatus; expires_at: Date | null; group_name: string },
  latest: Pick<DevicePosture, 'policy_id' | 'attested_at' | 'checks'> | null,
  now: number,
): { verdict: Verdict; policy: Policy; checks: CheckResult[]; attestedAt: number | null } {
  const policy = (latest ? policies.byReference(latest.policy_id) : undefined) ?? policies.forGroup(device.group_name);
  const checks = checksOf(latest);
  const attestedAt = toSeconds(latest?.attested_at ?? null);
  const verdict = verdictAt(policy, { status: device.status, expires_at: toSeconds(device.expires_at) }, latest && attestedAt !== null ? { attested_at: attestedAt, checks } : null, now);
  return { verdict, policy, checks, attestedAt };
}

import type { CheckResult, Verdict } from '@postern/shared';
import type { Kysely } from 'kysely';
import { checksOf, findDevice, findLatestPosture, toSeconds } from '../devices/repository.js';
import { policyRef, verdictAt } from '../policy/evaluate.js';
import type { PolicyCache } from '../policy/policy-cache.js';
import type { Database, Device } from '../store/schema.js';

export interface Decision {
  device: Device;
  group: string;
  verdict: Verdict;
  score: number;
  checks: CheckResult[];
  policy: string | null;
  evaluated_at: number | null;
  /** When this verdict stops holding unless a new report arrives (the policy's maximum age). */
  expires_at: number | null;
}

/** The device's verdict right now, from its latest stored evaluation. */
export async function decide(db: Kysely<Database>, policies: PolicyCache, deviceId: string, now: number): Promise<Decision | null> {
  const device = await findDevice(db, deviceId);
  if (!device) return null;
  const latest = await findLatestPosture(db, device.id);
  // Stored checks are judged with the version that produced them (after an apply, that is the new one).
  const policy = (latest ? policies.byReference(latest.policy_id) : undefined) ?? policies.forGroup(device.group_name);
  const checks = checksOf(latest);
  const attestedAt = toSeconds(latest?.attested_at ?? null);
  const verdict = verdictAt(
    policy,
    { status: device.status, expires_at: toSeconds(device.expires_at) },
    latest && attestedAt !== null ? { attested_at: attestedAt, checks } : null,
    now,
  );
  return {
    device,
    group: device.group_name,
    verdict,
    score: latest?.score ?? 0,
    checks,
    policy: latest ? latest.policy_id : policyRef(policy),
    evaluated_at: toSeconds(latest?.evaluated_at ?? null),
    expires_at: attestedAt === null ? null : attestedAt + policy.max_age_s,
  };
}

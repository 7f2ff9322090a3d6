import type { CheckResult, Verdict } from '@postern/shared';
import { uuid } from '@postern/shared';
import type { Kysely } from 'kysely';
import { toSeconds } from '../devices/repository.js';
import { currentVerdict } from '../policy/current-verdict.js';
import { policyRef } from '../policy/evaluate.js';
import type { PolicyCache } from '../policy/policy-cache.js';
import type { Database, Device, DevicePosture } from '../store/schema.js';

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
  const [decision] = await decideMany(db, policies, [{ deviceId, now }]);
  return decision ?? null;
}

/** Verdicts of many devices in two queries, each at its own `now`; null for an unknown id. */
export async function decideMany(db: Kysely<Database>, policies: PolicyCache, asked: ReadonlyArray<{ deviceId: string; now: number }>): Promise<Array<Decision | null>> {
  const ids = [...new Set(asked.map((a) => a.deviceId).filter((id) => uuid.safeParse(id).success))];
  if (ids.length === 0) return asked.map(() => null);
  const deviceById = new Map<string, Device>();
  const postureById = new Map<string, StoredEvaluation>();
  // A statement binds at most 65,535 parameters.
  for (let i = 0; i < ids.length; i += 10_000) {
    const chunk = ids.slice(i, i + 10_000);
    const [devices, postures] = await Promise.all([
      db.selectFrom('devices').selectAll().where('id', 'in', chunk).execute(),
      // Not the posture itself: a decision needs only its evaluation, and parsing it was a tenth of forward-auth.
      db.selectFrom('device_posture').select(['device_id', 'attested_at', 'verdict', 'score', 'checks', 'policy_id', 'evaluated_at']).where('device_id', 'in', chunk).execute(),
    ]);
    for (const d of devices) deviceById.set(d.id, d);
    for (const p of postures) postureById.set(p.device_id, p);
  }
  return asked.map(({ deviceId, now }) => {
    const device = deviceById.get(deviceId);
    return device ? decisionOf(policies, device, postureById.get(deviceId) ?? null, now) : null;
  });
}

type StoredEvaluation = Omit<DevicePosture, 'posture' | 'seq' | 'received_at'>;

function decisionOf(policies: PolicyCache, device: Device, latest: StoredEvaluation | null, now: number): Decision {
  const { verdict, policy, checks, attestedAt } = currentVerdict(policies, device, latest, now);
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

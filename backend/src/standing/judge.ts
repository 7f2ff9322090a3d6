import type { CheckResult, Platform, Posture, Verdict } from '@postern/shared';
import { evaluatePosture, failingIds, policyRef, verdictAt, type ActiveException, type DeviceStanding } from '../policy/evaluate.js';
import type { Policy } from '../policy/types.js';

/** Everything a device's standing depends on. */
export interface JudgeInput {
  policy: Policy;
  /** `pendingUntil`: when a pending enrollment nobody decided on ends (the due sweep then revokes it). */
  device: DeviceStanding & { platform: Platform | null; agentVersion: string | null; pendingUntil?: number | null };
  /** The newest accepted report, or null if the device never reported (or its stored posture is unreadable). */
  latest: { posture: Posture; attestedAt: number } | null;
  /** The checks of the previous judgement, so a failure keeps the time it started. */
  previous: readonly CheckResult[];
  /** The device's exceptions still running at `now`. */
  exceptions: readonly ActiveException[];
  now: number;
}

export interface Judgement {
  verdict: Verdict;
  score: number;
  checks: CheckResult[];
  /** Ids of the failing checks that count (not waived): the one meaning of "failing". */
  failing: string[];
  /** When the oldest of those failures started, else null. */
  failingSince: number | null;
  /** When the verdict may change without a new report: staleness, grace end, exception end, device expiry or pending expiry; null if never. */
  nextChangeAt: number | null;
  /** `group@version` of the policy that judged. */
  policy: string;
}

/**
 * The one judge: a device's standing from its policy, record, newest posture, previous checks,
 * exceptions and the time. Pure: the same input always gives the same judgement. Ingest, policy
 * apply and rollback, group moves, exceptions, approvals, revocation and the due-time sweep all
 * call it; the standing writer (record.ts) stores what it returns.
 */
export function judge(input: JudgeInput): Judgement {
  const { policy, device, latest, now } = input;
  const { checks, score } = latest
    ? evaluatePosture(policy, latest.posture, { now, previous: input.previous, attestedAt: latest.attestedAt, agentVersion: device.agentVersion, exceptions: input.exceptions, enrolledPlatform: device.platform })
    : { checks: [...input.previous], score: 0 };
  const verdict = verdictAt(policy, device, latest ? { attested_at: latest.attestedAt, checks } : null, now);
  const failing = failingIds(checks, now);
  const since = checks.filter((c) => failing.includes(c.id) && c.failing_since !== null).map((c) => c.failing_since as number);
  return {
    verdict,
    score,
    checks,
    failing,
    failingSince: since.length > 0 ? Math.min(...since) : null,
    nextChangeAt: nextChange(input, checks),
    policy: policyRef(policy),
  };
}

/**
 * The earliest moment after `now` at which `verdictAt` could answer differently with no new
 * report. Candidates that turn out not to change the verdict only cost the sweep one more look.
 */
function nextChange(input: JudgeInput, checks: readonly CheckResult[]): number | null {
  const { policy, device, latest, now } = input;
  // Revoked, or its enrollment has ended: nothing changes by itself any more.
  if (device.status === 'revoked' || (device.expires_at !== null && device.expires_at <= now)) return null;
  const candidates: number[] = [];
  if (device.expires_at !== null) candidates.push(device.expires_at);
  if (device.status === 'pending_approval' && device.pendingUntil != null) candidates.push(device.pendingUntil);
  if (device.status === 'active') {
    // verdictAt: stale once `now - attested_at > max_age_s`, i.e. from the second after.
    if (latest) candidates.push(latest.attestedAt + policy.max_age_s + 1);
    for (const exception of input.exceptions) candidates.push(exception.until);
    for (const check of checks) {
      const def = policy.checks.find((c) => c.id === check.id);
      if (check.status !== 'fail' || def?.enforcement !== 'warn_then_block') continue;
      candidates.push((check.failing_since ?? now) + (def.grace_s ?? 0) + 1);
    }
  }
  const future = candidates.filter((t) => t > now);
  return future.length > 0 ? Math.min(...future) : null;
}

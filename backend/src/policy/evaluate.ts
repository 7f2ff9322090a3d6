import type { CheckResult, Platform, Posture, Verdict } from '@postern/shared';
import { catalog } from './catalog.js';
import type { Policy, PolicyCheck } from './types.js';

export interface Evaluation {
  checks: CheckResult[];
  score: number;
}

/**
 * Runs every check of the policy against one posture. `previous` carries the last evaluation's
 * checks so a failure keeps the time it started across reports, reconnects and restarts.
 */
export function evaluatePosture(policy: Policy, posture: Posture, options: { now: number; previous?: readonly CheckResult[] }): Evaluation {
  const platform: Platform | 'default' = posture.os.status === 'ok' ? posture.os.platform : 'default';
  const checks = policy.checks.map((def): CheckResult => {
    const entry = catalog.get(def.id);
    // Policies are validated against the catalog when loaded; an unknown id here is a programming error.
    if (!entry) throw new Error(`policy ${policy.id} names check ${def.id}, which is not in the catalog`);
    const finding = entry.check.evaluate(posture, entry.params.parse(def.params) as never);
    const before = options.previous?.find((c) => c.id === def.id);
    const failingSince = finding.status === 'fail' ? (before?.status === 'fail' && before.failing_since !== null ? before.failing_since : options.now) : null;
    return {
      id: def.id,
      status: finding.status,
      severity: def.severity,
      weight: def.weight,
      message: finding.message,
      remediation: finding.status === 'pass' ? null : remediationFor(def, platform),
      failing_since: failingSince,
    };
  });
  return { checks, score: scoreOf(checks) };
}

/** The weighted share of passed checks, 0–100. */
export function scoreOf(checks: readonly CheckResult[]): number {
  const total = checks.reduce((sum, c) => sum + c.weight, 0);
  if (total === 0) return 100;
  const passed = checks.reduce((sum, c) => sum + (c.status === 'pass' ? c.weight : 0), 0);
  return Math.round((100 * passed) / total);
}

export interface DeviceStanding {
  status: 'active' | 'pending_approval' | 'revoked';
  expires_at: number | null;
}

/**
 * The verdict at time `now` (seconds) from stored checks. Derived on every read, so staleness
 * and the end of a grace period take effect without waiting for the next report.
 */
export function verdictAt(
  policy: Policy,
  device: DeviceStanding,
  latest: { attested_at: number; checks: readonly CheckResult[] } | null,
  now: number,
): Verdict {
  if (device.status === 'revoked' || (device.expires_at !== null && device.expires_at <= now)) return 'revoked';
  if (device.status === 'pending_approval') return 'pending';
  if (!latest || now - latest.attested_at > policy.max_age_s) return 'unknown';
  let inGrace = false;
  let undecided = false;
  for (const check of latest.checks) {
    const def: PolicyCheck | undefined = policy.checks.find((c) => c.id === check.id);
    if (!def || def.enforcement === 'notify') continue;
    if (check.status === 'unknown') undecided = true;
    if (check.status !== 'fail') continue;
    if (def.enforcement === 'block') return 'noncompliant';
    const since = check.failing_since ?? now;
    if (now - since > (def.grace_s ?? 0)) return 'noncompliant';
    inGrace = true;
  }
  // Fail closed: an enforced check that could not be read leaves the device unknown, not compliant.
  if (undecided) return 'unknown';
  return inGrace ? 'grace' : 'compliant';
}

function remediationFor(def: PolicyCheck, platform: Platform | 'default'): string | null {
  return def.remediation[platform] ?? def.remediation.default ?? null;
}

export function policyRef(policy: Policy): string {
  return `${policy.id}@${policy.version}`;
}

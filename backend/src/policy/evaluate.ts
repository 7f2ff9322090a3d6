import type { CheckException, CheckResult, Platform, Posture, Verdict } from '@postern/shared';
import { catalog } from './catalog.js';
import { withoutDoubtfulFacts } from './doubtful-facts.js';
import type { Policy, PolicyCheck } from './types.js';

export interface Evaluation {
  checks: CheckResult[];
  score: number;
}

/** An active exception of a device, as the evaluator needs it. */
export interface ActiveException extends CheckException {
  check_id: string;
}

export interface EvaluateOptions {
  now: number;
  /** The last evaluation's checks, so a failure keeps the time it started across reports, reconnects and restarts. */
  previous?: readonly CheckResult[];
  /** `iat` of the report; defaults to `now`. */
  attestedAt?: number;
  agentVersion?: string | null;
  /** The device's exceptions; those still running at `now` are attached to their check's result. */
  exceptions?: readonly ActiveException[];
  /**
   * The platform the device enrolled with (`devices.platform`). Used only when the posture's `os`
   * section could not be read: it then selects the platform-restricted checks and the remediation
   * texts, instead of judging the device by every check with the Linux texts.
   */
  enrolledPlatform?: Platform | null;
}

/**
 * Runs every check of the policy against one posture. Pure: the same policy, posture and options
 * always give the same result.
 */
export function evaluatePosture(policy: Policy, reported: Posture, options: EvaluateOptions): Evaluation {
  const context = { attestedAt: options.attestedAt ?? options.now, agentVersion: options.agentVersion ?? null };
  // Doubtful facts (too old, or from another platform than the device enrolled as) are judged as unreadable.
  const posture = withoutDoubtfulFacts(reported, { attestedAt: context.attestedAt, maxAgeS: policy.max_age_s, enrolledPlatform: options.enrolledPlatform ?? null });
  const platform: Platform | null = posture.os.status === 'ok' ? posture.os.platform : (options.enrolledPlatform ?? null);
  const checks: CheckResult[] = [];
  for (const def of policy.checks) {
    if (def.platforms && platform !== null && !def.platforms.includes(platform)) continue;
    const entry = catalog.get(def.id);
    // Policies are validated against the catalog when loaded; an unknown id here is a programming error.
    if (!entry) throw new Error(`policy ${policyRef(policy)} names check ${def.id}, which is not in the catalog`);
    const finding = entry.evaluate(posture, def.params, context);
    const before = options.previous?.find((c) => c.id === def.id);
    const failingSince = failingSinceOf(finding.status, before, options.now);
    const exception = options.exceptions?.find((e) => e.check_id === def.id && e.until > options.now);
    checks.push({
      id: def.id,
      status: finding.status,
      severity: def.severity,
      weight: def.weight,
      message: finding.message,
      remediation: finding.status === 'pass' ? null : remediationFor(def, platform, finding.reason ?? (finding.status === 'unknown' ? 'unknown' : 'default')),
      failing_since: failingSince,
      exception: exception ? { id: exception.id, until: exception.until, reason: exception.reason, granted_by: exception.granted_by } : null,
    });
  }
  return { checks, score: scoreOf(checks) };
}

/**
 * When the check's failure started: a pass ends it; a fail continues the running one (else starts
 * now); an unknown result keeps the running one, because nothing showed the failure was fixed.
 */
function failingSinceOf(status: CheckResult['status'], before: CheckResult | undefined, now: number): number | null {
  if (status === 'pass') return null;
  if (status === 'fail') return before?.failing_since ?? now;
  return before?.failing_since ?? null;
}

/**
 * Ids of the checks that are not passing (`fail` or `unknown`) and not waived by an exception:
 * the one meaning of "failing checks" in audit entries, EAR claims and decisions. With `now`, an
 * exception that has ended by then no longer waives its check (as in `verdictAt`).
 */
export function failingIds(checks: readonly CheckResult[], now?: number): string[] {
  return checks.filter((c) => isFailing(c, now)).map((c) => c.id);
}

/** Whether one check is failing in the sense of `failingIds`: for lists of whole results. */
export function isFailing(check: CheckResult, now?: number): boolean {
  return check.status !== 'pass' && !(check.exception && (now === undefined || check.exception.until > now));
}

/** The weighted share of passed checks, 0–100 (a waived or unknown check is not a passed one). */
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
 * The verdict at time `now` (seconds) from stored checks. Derived on every read, so staleness,
 * the end of a grace period and the end of an exception take effect without a new report.
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
    if (check.exception && check.exception.until > now) continue;
    if (check.status === 'unknown' && (def.on_unknown ?? policy.on_unknown) === 'unknown') undecided = true;
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

/** The policy's own text for this platform and state, else the catalog's. */
export function remediationFor(def: PolicyCheck, platform: Platform | null, reason: string): string | null {
  for (const source of [platform ? def.remediation[platform] : undefined, def.remediation.default]) {
    if (typeof source === 'string') return source;
    const text = source?.[reason] ?? source?.default;
    if (text) return text;
  }
  const builtIn = catalog.get(def.id)?.remediation[platform ?? 'linux'];
  return builtIn?.[reason] ?? builtIn?.default ?? null;
}

export function policyRef(policy: Pick<Policy, 'id' | 'version'>): string {
  return `${policy.id}@${policy.version}`;
}

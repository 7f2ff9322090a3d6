import type { CheckResult, Verdict } from '@postern/shared';

const VERDICT_TEXT: Record<Verdict, string> = {
  compliant: 'compliant',
  grace: 'grace (failing checks will block access when their grace period ends)',
  noncompliant: 'noncompliant',
  unknown: 'unknown',
  pending: 'pending (waiting for an administrator to approve this device)',
  revoked: 'revoked',
};

/** "verdict noncompliant, score 62" */
export function describeVerdict(result: { verdict: Verdict; score: number }): string {
  return `verdict ${VERDICT_TEXT[result.verdict]}, score ${result.score}`;
}

/** Checks a person has to act on: failed ones first, then the ones that could not be decided. */
export function checksToFix(checks: readonly CheckResult[]): CheckResult[] {
  return [...checks.filter((c) => c.status === 'fail'), ...checks.filter((c) => c.status === 'unknown')];
}

/**
 * One indented line per check to fix, with its remediation:
 * "  ✗ disk_encryption (high): The system disk is not encrypted. Fix: turn on FileVault …"
 */
export function describeChecks(checks: readonly CheckResult[], indent = '  '): string[] {
  return checksToFix(checks).map((c) => {
    const mark = c.status === 'fail' ? '✗' : '?';
    const fix = c.remediation ? ` Fix: ${c.remediation}` : '';
    // Server messages are clauses; end them so the remediation reads as its own sentence.
    const message = /[.!?]$/.test(c.message) ? c.message : `${c.message}.`;
    return `${indent}${mark} ${c.id} (${c.severity}): ${message}${fix}`;
  });
}

import { describe, expect, it } from 'vitest';
import type { CheckResult } from '@postern/shared';
import { verdictAt } from './evaluate.js';
import type { Enforcement, Policy } from './types.js';

const NOW = 1_800_000_000;
const GRACE = 3 * 86400;
const active = { status: 'active' as const, expires_at: null };

function policyWith(enforcement: Enforcement, onUnknown: 'unknown' | 'ignore' = 'unknown'): Policy {
  return {
    id: 't',
    version: 1,
    max_age_s: 900,
    report_interval_s: 300,
    on_unknown: onUnknown,
    checks: [{ id: 'firewall.enabled', severity: 'high', weight: 10, enforcement, ...(enforcement === 'warn_then_block' ? { grace_s: GRACE } : {}), params: {}, remediation: {} }],
  };
}

function result(status: CheckResult['status'], failingFor: number | null = null, exceptionUntil?: number): CheckResult {
  return {
    id: 'firewall.enabled',
    status,
    severity: 'high',
    weight: 10,
    message: '',
    remediation: null,
    failing_since: status === 'fail' ? NOW - (failingFor ?? 0) : null,
    exception: exceptionUntil === undefined ? null : { id: 'e', until: exceptionUntil, reason: 'r', granted_by: 'admin:t' },
  };
}

/** enforcement × status × time failing (around the grace boundary) → verdict. */
const table: Array<[Enforcement, CheckResult['status'], number | null, string]> = [
  ['block', 'pass', null, 'compliant'],
  ['block', 'fail', 0, 'noncompliant'],
  ['block', 'fail', GRACE + 1, 'noncompliant'],
  ['block', 'unknown', null, 'unknown'],
  ['warn_then_block', 'pass', null, 'compliant'],
  ['warn_then_block', 'fail', 0, 'grace'],
  ['warn_then_block', 'fail', GRACE - 1, 'grace'],
  ['warn_then_block', 'fail', GRACE, 'grace'],
  ['warn_then_block', 'fail', GRACE + 1, 'noncompliant'],
  ['warn_then_block', 'unknown', null, 'unknown'],
  ['notify', 'pass', null, 'compliant'],
  ['notify', 'fail', 0, 'compliant'],
  ['notify', 'fail', 365 * 86400, 'compliant'],
  ['notify', 'unknown', null, 'compliant'],
];

describe('the verdict', () => {
  it.each(table)('of a %s check that is %s, failing for %s s, is %s', (enforcement, status, failingFor, expected) => {
    expect(verdictAt(policyWith(enforcement), active, { attested_at: NOW, checks: [result(status, failingFor)] }, NOW)).toBe(expected);
  });

  it.each(['block', 'warn_then_block'] as const)('ignores a waived %s failure while its exception runs, and not a second longer', (enforcement) => {
    const latest = { attested_at: NOW, checks: [result('fail', GRACE + 10, NOW + 60)] };
    expect(verdictAt(policyWith(enforcement), active, latest, NOW)).toBe('compliant');
    expect(verdictAt(policyWith(enforcement), active, latest, NOW + 59)).toBe('compliant');
    expect(verdictAt(policyWith(enforcement), active, latest, NOW + 60)).toBe('noncompliant');
  });

  it('treats an unknown enforced check as unknown, unless the policy says to ignore unknowns', () => {
    const latest = { attested_at: NOW, checks: [result('unknown')] };
    expect(verdictAt(policyWith('block', 'unknown'), active, latest, NOW)).toBe('unknown');
    expect(verdictAt(policyWith('block', 'ignore'), active, latest, NOW)).toBe('compliant');
    const perCheck = policyWith('block', 'ignore');
    perCheck.checks[0]!.on_unknown = 'unknown';
    expect(verdictAt(perCheck, active, latest, NOW)).toBe('unknown');
  });

  it('puts a failing block check before an unknown one', () => {
    const policy = policyWith('block');
    policy.checks.push({ id: 'patches.auto_updates', severity: 'low', weight: 1, enforcement: 'block', params: {}, remediation: {} });
    const checks = [result('unknown'), { ...result('fail', 0), id: 'patches.auto_updates' }];
    expect(verdictAt(policy, active, { attested_at: NOW, checks }, NOW)).toBe('noncompliant');
  });

  it('turns unknown when the newest report is older than the maximum age, whatever the checks say', () => {
    const latest = { attested_at: NOW, checks: [result('pass')] };
    expect(verdictAt(policyWith('block'), active, latest, NOW + 900)).toBe('compliant');
    expect(verdictAt(policyWith('block'), active, latest, NOW + 901)).toBe('unknown');
  });
});

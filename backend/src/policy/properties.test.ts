import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckResult, Posture, Verdict } from '@postern/shared';
import { healthyLinuxPosture } from '@postern/testkit/postures';
import { catalog } from './catalog.js';
import { evaluatePosture, scoreOf, verdictAt } from './evaluate.js';
import type { Policy, PolicyCheck } from './types.js';

const NOW = 1_800_000_000;
const active = { status: 'active' as const, expires_at: null };
const base = healthyLinuxPosture(NOW);

/** Postures anywhere between healthy and broken: every section may be off, missing or unreadable. */
const arbPosture: fc.Arbitrary<Posture> = fc
  .record({
    osVersion: fc.constantFrom('20.04', '22.04', '24.04', 'rolling'),
    osId: fc.constantFrom('ubuntu', 'debian', 'gentoo'),
    osUnreadable: fc.boolean(),
    volumes: fc.array(fc.record({ mount: fc.constantFrom('/', '/data', '/home'), encrypted: fc.boolean(), state: fc.constantFrom('on', 'off', 'encrypting', 'decrypting', 'suspended', 'unknown'), system: fc.boolean() }), { maxLength: 3 }),
    firewall: fc.option(fc.record({ enabled: fc.boolean(), profiles: fc.array(fc.record({ name: fc.constantFrom('Domain', 'Private', 'Public'), enabled: fc.boolean() }), { maxLength: 3 }) })),
    pendingSecurity: fc.nat(20),
    lastInstalledDaysAgo: fc.option(fc.nat(120)),
    autoUpdates: fc.constantFrom(true, false, null),
    screenLock: fc.option(fc.record({ enabled: fc.constantFrom(true, false, null), idle_minutes: fc.option(fc.nat(60)) })),
    secureBoot: fc.option(fc.boolean()),
    antivirus: fc.option(fc.record({ active: fc.boolean(), products: fc.array(fc.record({ name: fc.constantFrom('Defender', 'ClamAV'), enabled: fc.boolean(), up_to_date: fc.constantFrom(true, false, null) }), { maxLength: 2 }) })),
  })
  .map((r): Posture => {
    const ok = { status: 'ok' as const, collected_at: NOW };
    const os = base.os.status === 'ok' ? base.os : (undefined as never);
    return {
      os: r.osUnreadable ? { status: 'error', collected_at: NOW, error: 'unreadable' } : { ...os, id: r.osId, version: r.osVersion },
      disk_encryption: { ...ok, volumes: r.volumes.map((v) => ({ ...v, method: v.encrypted ? 'luks2' : null })) },
      firewall: r.firewall ? { ...ok, enabled: r.firewall.enabled, backend: 'nftables', profiles: r.firewall.profiles } : { status: 'error', collected_at: NOW, error: 'denied' },
      patches: { ...ok, pending: r.pendingSecurity, pending_security: r.pendingSecurity, last_installed_at: r.lastInstalledDaysAgo === null ? null : NOW - r.lastInstalledDaysAgo * 86400, auto_updates: r.autoUpdates, source: 'apt' },
      ...(r.screenLock ? { screen_lock: { ...ok, enabled: r.screenLock.enabled, idle_minutes: r.screenLock.idle_minutes } } : {}),
      ...(r.secureBoot !== null ? { secure_boot: { ...ok, enabled: r.secureBoot } } : {}),
      ...(r.antivirus ? { antivirus: { ...ok, ...r.antivirus } } : {}),
    };
  });

const arbCheck: fc.Arbitrary<PolicyCheck> = fc
  .record({
    id: fc.constantFrom(...catalog.keys()),
    severity: fc.constantFrom('critical', 'high', 'medium', 'low'),
    weight: fc.nat(100),
    enforcement: fc.constantFrom('block', 'warn_then_block', 'notify'),
    grace_s: fc.nat(30 * 86400),
  })
  .map((c): PolicyCheck => {
    const params = catalog.get(c.id)!.params.parse(c.id === 'agent.min_version' ? { min: '0.1.0' } : c.id === 'os.min_version' ? { linux: { ubuntu: '22.04' } } : {});
    return { id: c.id, severity: c.severity as PolicyCheck['severity'], weight: c.weight, enforcement: c.enforcement as PolicyCheck['enforcement'], ...(c.enforcement === 'warn_then_block' ? { grace_s: c.grace_s } : {}), params, remediation: {} };
  });

const arbPolicy: fc.Arbitrary<Policy> = fc
  .uniqueArray(arbCheck, { selector: (c) => c.id, minLength: 0, maxLength: 13 })
  .chain((checks) => fc.record({ on_unknown: fc.constantFrom('unknown' as const, 'ignore' as const) }).map(({ on_unknown }) => ({ id: 'p', version: 1, max_age_s: 900, report_interval_s: 300, on_unknown, checks })));

const arbResult: fc.Arbitrary<CheckResult> = fc.record({
  id: fc.string({ maxLength: 8 }),
  status: fc.constantFrom('pass', 'fail', 'unknown'),
  severity: fc.constantFrom('critical', 'high', 'medium', 'low'),
  weight: fc.nat(1000),
  message: fc.constant(''),
  remediation: fc.constant(null),
  failing_since: fc.constant(null),
});

/** Better verdicts rank higher: a passing check may only move a device up this ladder. */
const rank: Record<Verdict, number> = { revoked: 0, noncompliant: 1, unknown: 2, pending: 2, grace: 3, compliant: 4 };

describe('policy evaluation, for any posture and policy', () => {
  it('keeps the score a whole number from 0 to 100', () => {
    fc.assert(
      fc.property(fc.array(arbResult, { maxLength: 30 }), (checks) => {
        const score = scoreOf(checks);
        expect(Number.isInteger(score) && score >= 0 && score <= 100).toBe(true);
      }),
    );
    fc.assert(
      fc.property(arbPolicy, arbPosture, (policy, posture) => {
        const { score } = evaluatePosture(policy, posture, { now: NOW });
        expect(Number.isInteger(score) && score >= 0 && score <= 100).toBe(true);
      }),
    );
  });

  it('never lowers the verdict or the score when a passing check is added', () => {
    fc.assert(
      fc.property(arbPolicy, arbPosture, arbCheck, fc.nat(40 * 86400), (policy, posture, extra, later) => {
        fc.pre(!policy.checks.some((c) => c.id === extra.id));
        const before = evaluatePosture(policy, posture, { now: NOW });
        const withExtra: Policy = { ...policy, checks: [...policy.checks, extra] };
        const after = evaluatePosture(withExtra, posture, { now: NOW });
        const added = after.checks.find((c) => c.id === extra.id);
        fc.pre(added?.status === 'pass');
        const at = NOW + (later % 900);
        const verdictBefore = verdictAt(policy, active, { attested_at: NOW, checks: before.checks }, at);
        const verdictAfter = verdictAt(withExtra, active, { attested_at: NOW, checks: after.checks }, at);
        expect(rank[verdictAfter]).toBeGreaterThanOrEqual(rank[verdictBefore]);
        expect(after.score).toBeGreaterThanOrEqual(before.score);
      }),
    );
  });

  it('is deterministic: the same inputs give the same checks, score and verdict', () => {
    fc.assert(
      fc.property(arbPolicy, arbPosture, fc.nat(86400), (policy, posture, dt) => {
        const first = evaluatePosture(policy, posture, { now: NOW });
        const again = evaluatePosture(structuredClone(policy), structuredClone(posture), { now: NOW });
        expect(again).toEqual(first);
        expect(verdictAt(policy, active, { attested_at: NOW, checks: first.checks }, NOW + dt)).toBe(verdictAt(policy, active, { attested_at: NOW, checks: again.checks }, NOW + dt));
      }),
    );
  });

  it('keeps when a failure started across evaluations, and forgets it once the check passes', () => {
    fc.assert(
      fc.property(arbPolicy, arbPosture, fc.nat(86400), (policy, posture, dt) => {
        // The same report judged again later (as at a policy apply): the report's time stays.
        const first = evaluatePosture(policy, posture, { now: NOW, attestedAt: NOW });
        const second = evaluatePosture(policy, posture, { now: NOW + dt, attestedAt: NOW, previous: first.checks });
        for (const check of second.checks) {
          if (check.status === 'fail') expect(check.failing_since).toBe(NOW);
          else expect(check.failing_since).toBeNull();
        }
      }),
    );
  });
});

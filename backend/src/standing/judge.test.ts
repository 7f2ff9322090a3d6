import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { collectedAt, healthyLinuxPosture, withPendingSecurity } from '@postern/testkit/postures';
import { defaultPolicy } from '../policy/default-policy.js';
import { verdictAt } from '../policy/evaluate.js';
import { judge, type JudgeInput } from './judge.js';

const NOW = 1_800_000_000;
const policy = defaultPolicy;
const active = { status: 'active' as const, expires_at: null, platform: 'linux' as const, agentVersion: '0.1.0' };
const patchGrace = policy.checks.find((c) => c.id === 'patches.max_pending_security')?.grace_s ?? 0;

function input(overrides: Partial<JudgeInput> = {}): JudgeInput {
  return { policy, device: active, latest: { posture: healthyLinuxPosture(NOW), attestedAt: NOW }, previous: [], exceptions: [], now: NOW, ...overrides };
}

describe('the judge', () => {
  it('finds a fresh healthy device compliant, with 100, and due to turn unknown the second after its report is too old', () => {
    const j = judge(input());
    expect(j).toMatchObject({ verdict: 'compliant', score: 100, failing: [], failingSince: null, policy: 'default@1' });
    expect(j.nextChangeAt).toBe(NOW + policy.max_age_s + 1);
    expect(judge(input({ now: NOW + policy.max_age_s })).verdict).toBe('compliant');
    expect(judge(input({ now: NOW + policy.max_age_s + 1 })).verdict).toBe('unknown');
  });

  it('puts a failure in grace and is due again when the grace ends, keeping when the failure started', () => {
    const behind = withPendingSecurity(healthyLinuxPosture(NOW), 3);
    const first = judge(input({ latest: { posture: behind, attestedAt: NOW } }));
    expect(first).toMatchObject({ verdict: 'grace', failing: ['patches.max_pending_security'], failingSince: NOW });
    // A later report within the grace period: same start, and due when the grace ends if that comes before staleness.
    const later = NOW + patchGrace - 60;
    const again = collectedAt(behind, later);
    const second = judge(input({ latest: { posture: again, attestedAt: later }, previous: first.checks, now: later }));
    expect(second).toMatchObject({ verdict: 'grace', failingSince: NOW, nextChangeAt: NOW + patchGrace + 1 });
    const after = judge(input({ latest: { posture: again, attestedAt: later }, previous: first.checks, now: NOW + patchGrace + 1 }));
    expect(after.verdict).toBe('noncompliant');
  });

  it('is due when an exception ends, and the waived failure counts again from then', () => {
    const behind = withPendingSecurity(healthyLinuxPosture(NOW), 3);
    const exception = { id: '00000000-0000-4000-8000-000000000001', check_id: 'patches.max_pending_security', until: NOW + 120, reason: 'patch window', granted_by: 'admin:t' };
    const failing = judge(input({ latest: { posture: behind, attestedAt: NOW }, previous: [{ ...judge(input()).checks[0]!, id: 'patches.max_pending_security', status: 'fail', failing_since: NOW - patchGrace - 10 }] }));
    expect(failing.verdict).toBe('noncompliant');
    const waived = judge(input({ latest: { posture: behind, attestedAt: NOW }, previous: failing.checks, exceptions: [exception] }));
    expect(waived).toMatchObject({ verdict: 'compliant', failing: [], nextChangeAt: NOW + 120 });
    expect(judge(input({ latest: { posture: behind, attestedAt: NOW }, previous: failing.checks, exceptions: [], now: NOW + 120 })).verdict).toBe('noncompliant');
  });

  it('revokes a device at its end date and is due exactly then; a revoked device never changes by itself', () => {
    const ending = { ...active, expires_at: NOW + 30 };
    expect(judge(input({ device: ending }))).toMatchObject({ verdict: 'compliant', nextChangeAt: NOW + 30 });
    expect(judge(input({ device: ending, now: NOW + 30 }))).toMatchObject({ verdict: 'revoked', nextChangeAt: null });
    expect(judge(input({ device: { ...active, status: 'revoked' } }))).toMatchObject({ verdict: 'revoked', nextChangeAt: null });
  });

  it('keeps a pending device pending, due only at its end date, and a device that never reported unknown', () => {
    expect(judge(input({ device: { ...active, status: 'pending_approval', expires_at: NOW + 99 } }))).toMatchObject({ verdict: 'pending', nextChangeAt: NOW + 99 });
    expect(judge(input({ latest: null }))).toMatchObject({ verdict: 'unknown', score: 0, checks: [], nextChangeAt: null });
  });

  it('names the end of a pending enrollment\'s wait as its next change, and forgets it once the device is active', () => {
    expect(judge(input({ device: { ...active, status: 'pending_approval', pendingUntil: NOW + 3600 } }))).toMatchObject({ verdict: 'pending', nextChangeAt: NOW + 3600 });
    expect(judge(input({ device: { ...active, status: 'pending_approval', expires_at: NOW + 60, pendingUntil: NOW + 3600 } }))).toMatchObject({ nextChangeAt: NOW + 60 });
    expect(judge(input({ device: { ...active, pendingUntil: NOW + 3600 } })).nextChangeAt).toBe(NOW + policy.max_age_s + 1);
  });

  it('never misses a change: no verdict differs between now and the next change it names (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 20 * 86400 }), fc.option(fc.integer({ min: 1, max: 30 * 86400 }), { nil: null }), (pending, age, ttl) => {
        const device = { ...active, expires_at: ttl === null ? null : NOW + ttl };
        const posture = withPendingSecurity(healthyLinuxPosture(NOW - age), pending);
        const base = input({ device, latest: { posture, attestedAt: NOW - age }, now: NOW });
        const j = judge(base);
        const latest = { attested_at: NOW - age, checks: j.checks };
        const verdictAtTime = (t: number) => verdictAt(policy, device, latest, t);
        const horizon = j.nextChangeAt ?? NOW + 40 * 86400;
        // Sample the interval: the verdict is the judged one throughout, and (when named) differs or is re-checked at its end.
        for (const t of [NOW, NOW + 1, Math.floor((NOW + horizon) / 2), horizon - 1]) if (t >= NOW && t < horizon) expect(verdictAtTime(t)).toBe(j.verdict);
      }),
      { numRuns: 200 },
    );
  });
});

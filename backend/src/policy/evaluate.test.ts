import { describe, expect, it } from 'vitest';
import type { CheckResult, Posture } from '@postern/shared';
import { collectedAt, healthyLinuxPosture, healthyMacPosture, unencryptedLinuxPosture, windowsPostureWithPublicFirewallOff } from '@postern/testkit/postures';
import { defaultPolicy } from './default-policy.js';
import { evaluatePosture, failingIds, isFailing, scoreOf, verdictAt } from './evaluate.js';
import { compilePolicy, parsePolicySource } from './document.js';
import { judge as judgeStanding } from '../standing/judge.js';

const NOW = 1_800_000_000;
const active = { status: 'active' as const, expires_at: null };

/** A report made at `now` of the device in `posture`: its facts were read then too. */
function judge(posture: Posture, previous?: CheckResult[], now = NOW) {
  const evaluation = evaluatePosture(defaultPolicy, collectedAt(posture, now), { now, ...(previous ? { previous } : {}) });
  return { ...evaluation, verdict: verdictAt(defaultPolicy, active, { attested_at: now, checks: evaluation.checks }, now) };
}

describe('the default policy', () => {
  it('scores a healthy Linux device 100 and compliant', () => {
    expect(judge(healthyLinuxPosture(NOW))).toMatchObject({ score: 100, verdict: 'compliant' });
  });

  it('scores a healthy Mac 100 and compliant', () => {
    expect(judge(healthyMacPosture(NOW))).toMatchObject({ score: 100, verdict: 'compliant' });
  });

  it('blocks an unencrypted system volume and gives the Linux remediation', () => {
    const result = judge(unencryptedLinuxPosture(NOW));
    expect(result.verdict).toBe('noncompliant');
    expect(result.score).toBe(70);
    expect(result.checks.find((c) => c.id === 'disk_encryption.system_volume')).toMatchObject({ status: 'fail', failing_since: NOW, remediation: expect.stringMatching(/LUKS/) });
  });

  it('fails the firewall check when one Windows profile is off, naming the profile', () => {
    const check = judge(windowsPostureWithPublicFirewallOff(NOW)).checks.find((c) => c.id === 'firewall.enabled');
    expect(check).toMatchObject({ status: 'fail', message: expect.stringMatching(/Public/) });
  });

  it('classifies Windows by build number, not by the product name', () => {
    const p = windowsPostureWithPublicFirewallOff(NOW);
    if (p.os.status !== 'ok') throw new Error('fixture');
    const old = { ...p, os: { ...p.os, name: 'Windows 10 Pro', version: '10.0.19044', build: '19044' } };
    expect(judge(old).checks[0]).toMatchObject({ status: 'fail' });
    const win11 = { ...p, os: { ...p.os, name: 'Windows 10 Enterprise', build: '22631' } };
    expect(judge(win11).checks[0]).toMatchObject({ status: 'pass' });
  });

  it('fails an old or unsupported distribution and passes a newer one', () => {
    const p = healthyLinuxPosture(NOW);
    if (p.os.status !== 'ok') throw new Error('fixture');
    expect(judge({ ...p, os: { ...p.os, version: '20.04' } }).checks[0]?.status).toBe('fail');
    expect(judge({ ...p, os: { ...p.os, version: '24.10' } }).checks[0]?.status).toBe('pass');
    expect(judge({ ...p, os: { ...p.os, id: 'gentoo', name: 'Gentoo' } }).checks[0]).toMatchObject({ status: 'fail', message: expect.stringMatching(/not a supported/) });
  });

  it('gives pending security updates a grace period of seven days, then blocks', () => {
    const p = healthyLinuxPosture(NOW);
    if (p.patches.status !== 'ok') throw new Error('fixture');
    const behind: Posture = { ...p, patches: { ...p.patches, pending_security: 4 } };
    const first = judge(behind);
    expect(first.verdict).toBe('grace');
    expect(first.score).toBe(80);
    const sixDays = judge(behind, first.checks, NOW + 6 * 86400);
    expect(sixDays.verdict).toBe('grace');
    expect(sixDays.checks[3]?.failing_since).toBe(NOW);
    expect(judge(behind, first.checks, NOW + 7 * 86400 + 1).verdict).toBe('noncompliant');
  });

  it('restarts the grace period once the failure has been fixed in between', () => {
    const p = healthyLinuxPosture(NOW);
    if (p.patches.status !== 'ok') throw new Error('fixture');
    const behind: Posture = { ...p, patches: { ...p.patches, pending_security: 4 } };
    const first = judge(behind);
    const fixed = judge(p, first.checks, NOW + 86400);
    expect(judge(behind, fixed.checks, NOW + 10 * 86400).checks[3]?.failing_since).toBe(NOW + 10 * 86400);
  });

  // The clock of a failure restarts only when the check passes in between: an unreadable report says nothing about a fix.
  describe('failing_since across an unknown report', () => {
    const p = healthyLinuxPosture(NOW);
    if (p.patches.status !== 'ok') throw new Error('fixture');
    const behind: Posture = { ...p, patches: { ...p.patches, pending_security: 4 } };
    const unread: Posture = { ...p, patches: { status: 'error', collected_at: NOW, error: 'apt is locked' } };
    const day = (d: number) => Math.round(NOW + d * 86400);
    const timeline = (steps: Array<[number, Posture]>) => {
      let previous: CheckResult[] | undefined;
      return steps.map(([d, posture]) => {
        const result = judge(posture, previous, day(d));
        previous = result.checks;
        return [d, result.verdict, result.checks[3]?.status, result.checks[3]?.failing_since];
      });
    };

    it('keeps the clock running: fail day 0, unknown day 6, fail day 6.003 → noncompliant on day 8', () => {
      expect(timeline([[0, behind], [6, unread], [6.003, behind], [8, behind]])).toEqual([
        [0, 'grace', 'fail', NOW],
        [6, 'unknown', 'unknown', NOW],
        [6.003, 'grace', 'fail', NOW],
        [8, 'noncompliant', 'fail', NOW],
      ]);
    });

    it('restarts the clock when the check passes in between, and does not start it on unknown', () => {
      expect(timeline([[0, behind], [6, p], [6.003, behind], [8, behind]])).toEqual([
        [0, 'grace', 'fail', NOW],
        [6, 'compliant', 'pass', null],
        [6.003, 'grace', 'fail', day(6.003)],
        [8, 'grace', 'fail', day(6.003)],
      ]);
      expect(timeline([[0, unread], [1, behind]])).toEqual([
        [0, 'unknown', 'unknown', null],
        [1, 'grace', 'fail', day(1)],
      ]);
    });
  });

  it('judges a device whose os section is unreadable by its enrolled platform: its checks and its remediation', () => {
    const source = `postern_policy: 1
checks:
  - id: os.min_version
    severity: high
    weight: 10
    enforcement: block
  - id: screen_lock.max_idle_minutes
    severity: medium
    weight: 10
    enforcement: block
    platforms: [darwin, win32]
`;
    const parsed = parsePolicySource(source, 'p.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const policy = compilePolicy(parsed.document, 'macs', 1);
    const mac = healthyMacPosture(NOW);
    const unread: Posture = { ...mac, os: { status: 'error', collected_at: NOW, error: 'sw_vers failed' } };
    const asMac = evaluatePosture(policy, unread, { now: NOW, enrolledPlatform: 'darwin' });
    expect(asMac.checks.map((c) => c.id)).toEqual(['os.min_version', 'screen_lock.max_idle_minutes']);
    expect(asMac.checks[0]).toMatchObject({ status: 'unknown', remediation: expect.stringMatching(/launchd/) });
    const asLinux = evaluatePosture(policy, unread, { now: NOW, enrolledPlatform: 'linux' });
    expect(asLinux.checks.map((c) => c.id)).toEqual(['os.min_version']);
    expect(asLinux.checks[0]?.remediation).toMatch(/systemd/);
    // A report from another platform than the device enrolled as is not trusted: judged as the
    // enrolled platform, every check unknown, saying why (it used to pass as a Mac).
    const foreign = evaluatePosture(policy, mac, { now: NOW, enrolledPlatform: 'linux' });
    expect(foreign.checks.map((c) => [c.id, c.status])).toEqual([['os.min_version', 'unknown']]);
    expect(foreign.checks[0]?.message).toMatch(/comes from darwin, but this device enrolled as linux/);
    expect(foreign.score).toBe(0);
    // The judge passes the platform the device enrolled with (devices.platform) to the evaluator.
    const judged = judgeStanding({ policy, device: { status: 'active', expires_at: null, platform: 'darwin', agentVersion: '0.1.0' }, latest: { posture: unread, attestedAt: NOW }, previous: [], exceptions: [], now: NOW });
    expect(judged.checks[0]?.remediation).toMatch(/launchd/);
  });

  it('counts as failing every check not passing, except those waived by an exception still running', () => {
    const check = (id: string, status: CheckResult['status'], until?: number): CheckResult => ({
      id, status, severity: 'low', weight: 1, message: '', remediation: null, failing_since: null,
      exception: until === undefined ? null : { id: 'e1', until, reason: 'r', granted_by: 'admin:test' },
    });
    const checks = [check('a', 'pass'), check('b', 'fail'), check('c', 'unknown'), check('d', 'fail', NOW + 60)];
    expect(failingIds(checks)).toEqual(['b', 'c']);
    expect(failingIds(checks, NOW)).toEqual(['b', 'c']);
    expect(failingIds(checks, NOW + 60)).toEqual(['b', 'c', 'd']);
    expect(checks.filter((c) => isFailing(c, NOW)).map((c) => c.id)).toEqual(['b', 'c']);
  });

  it('leaves a device unknown, not compliant, when an enforced section could not be read', () => {
    const p = healthyLinuxPosture(NOW);
    const unread: Posture = { ...p, firewall: { status: 'error', collected_at: NOW, error: 'permission denied: run the agent as root' } };
    const result = judge(unread);
    expect(result.verdict).toBe('unknown');
    expect(result.checks[2]).toMatchObject({ status: 'unknown', message: expect.stringMatching(/permission denied/) });
    expect(result.score).toBe(75);
  });

  it('makes a device unknown when its last report is older than the maximum age', () => {
    const { checks } = judge(healthyLinuxPosture(NOW));
    expect(verdictAt(defaultPolicy, active, { attested_at: NOW, checks }, NOW + defaultPolicy.max_age_s)).toBe('compliant');
    expect(verdictAt(defaultPolicy, active, { attested_at: NOW, checks }, NOW + defaultPolicy.max_age_s + 1)).toBe('unknown');
    expect(verdictAt(defaultPolicy, active, null, NOW)).toBe('unknown');
  });

  it('puts revocation, expiry and pending approval before any posture', () => {
    const { checks } = judge(healthyLinuxPosture(NOW));
    const latest = { attested_at: NOW, checks };
    expect(verdictAt(defaultPolicy, { status: 'revoked', expires_at: null }, latest, NOW)).toBe('revoked');
    expect(verdictAt(defaultPolicy, { status: 'active', expires_at: NOW - 1 }, latest, NOW)).toBe('revoked');
    expect(verdictAt(defaultPolicy, { status: 'pending_approval', expires_at: null }, latest, NOW)).toBe('pending');
  });

  it('computes the score as the weighted share of passed checks', () => {
    const check = (status: CheckResult['status'], weight: number): CheckResult => ({ id: 'x', status, severity: 'low', weight, message: '', remediation: null, failing_since: null });
    expect(scoreOf([check('pass', 30), check('fail', 10)])).toBe(75);
    expect(scoreOf([check('unknown', 10)])).toBe(0);
    expect(scoreOf([])).toBe(100);
  });
});

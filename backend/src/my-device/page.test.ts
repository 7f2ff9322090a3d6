import type { CheckResult } from '@postern/shared';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../decisions/decide.js';
import type { Device } from '../store/schema.js';
import { devicePage } from './page.js';

const now = 1_800_000_000;
const device: Device = {
  id: '6a7c0e64-3b55-4d1e-9a51-9f7a3a1c2b10',
  kid: 'kid',
  public_jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
  ueid: 'u',
  machine_id: 'm',
  hostname: 'laptop-7',
  platform: 'darwin',
  serial: null,
  agent_version: '0.1.0',
  group_name: 'employees',
  owner: null,
  status: 'active',
  enrolled_at: new Date(now * 1000),
  expires_at: null,
  approved_at: null,
  revoked_at: null,
  enrollment_token_id: null,
  last_seq: 3,
  last_seen_at: null,
};
const check = (id: string, status: CheckResult['status'], extra: Partial<CheckResult> = {}): CheckResult => ({ id, status, severity: 'high', weight: 10, message: `${id} message`, remediation: `fix ${id}`, failing_since: null, ...extra });
const decision = (over: Partial<Decision>): Decision => ({ device, group: 'employees', verdict: 'noncompliant', score: 40, checks: [], policy: 'default@1', evaluated_at: now, expires_at: null, ...over });

describe('the device page', () => {
  it('lists what to do for each failing check on the device’s platform, and not the passing ones', () => {
    const html = devicePage(decision({ checks: [check('firewall.enabled', 'fail'), check('os.supported', 'pass'), check('screen_lock.enabled', 'unknown', { remediation: null })] }), now, now + 900);
    expect(html).toContain('To do on this macOS device');
    expect(html).toContain('fix firewall.enabled');
    expect(html).toContain('screen_lock.enabled</code> (could not be read)<br>No fix is described for this check');
    expect(html).not.toContain('os.supported');
    expect(html).toContain('This device is noncompliant: is blocked');
  });

  it('shows a waived check as allowed for now, not as to do', () => {
    const waived = check('disk_encryption.system_volume', 'fail', { exception: { id: 'e', until: now + 3600, reason: 'repair', granted_by: 'admin:otto' } });
    const html = devicePage(decision({ verdict: 'compliant', score: 90, checks: [waived] }), now, now + 900);
    expect(html).toContain('Allowed for now');
    expect(html).not.toContain('To do on this');
  });

  it('escapes whatever the device or the policy wrote, so no markup of theirs reaches the page', () => {
    const hostile = '<script>alert(1)</script>';
    const html = devicePage(decision({ device: { ...device, hostname: hostile, group_name: '"><img src=x onerror=alert(1)>' }, checks: [check('firewall.enabled', 'fail', { message: hostile, remediation: '<a href="javascript:x">click</a>' })] }), now, now + 900);
    expect(html).not.toMatch(/<script>|<img|<a href/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

import { describe, expect, it } from 'vitest';
import type { Platform, Posture } from '@postern/shared';
import { collectedAt, healthyLinuxPosture, healthyMacPosture, windowsPostureWithPublicFirewallOff } from '@postern/testkit/postures';
import { catalog } from './catalog.js';
import { remediationFor } from './evaluate.js';
import type { CatalogCheck, Finding } from './types.js';

const NOW = 1_800_000_000;
const linux = healthyLinuxPosture(NOW);
const ok = <T extends object>(facts: T) => ({ status: 'ok' as const, collected_at: NOW, ...facts });
const unreadable = { status: 'error' as const, collected_at: NOW, error: 'permission denied: run the agent as root' };
const patched = (facts: Partial<Extract<Posture['patches'], { status: 'ok' }>>): Posture => ({ ...linux, patches: { ...(linux.patches as Extract<Posture['patches'], { status: 'ok' }>), ...facts } });
const volumes = (...v: Array<{ mount: string; encrypted: boolean; state: 'on' | 'off' | 'encrypting' | 'decrypting' | 'suspended' | 'unknown'; system?: boolean }>): Posture => ({
  ...linux,
  disk_encryption: ok({ volumes: v.map((x) => ({ method: x.encrypted ? 'luks2' : null, ...x })) }),
});
const osOf = (facts: Partial<Extract<Posture['os'], { status: 'ok' }>>): Posture => ({ ...linux, os: { ...(linux.os as Extract<Posture['os'], { status: 'ok' }>), ...facts } });

interface Case {
  check: string;
  name: string;
  posture: Posture;
  params?: Record<string, unknown>;
  agentVersion?: string | null;
  attestedAt?: number;
  status: Finding['status'];
  reason?: string;
  message: RegExp;
}

const minVersions = { linux: { ubuntu: '22.04', debian: '12', arch: 'any' }, darwin: '14.0', win32_build: 19045 };

/** Every check of the catalog, passing, failing in each of its states, and unknown. */
const cases: Case[] = [
  { check: 'os.min_version', name: 'a supported Ubuntu', posture: linux, params: minVersions, status: 'pass', message: /24\.04 is at or above 22\.04/ },
  { check: 'os.min_version', name: 'an old Ubuntu', posture: osOf({ version: '20.04' }), params: minVersions, status: 'fail', reason: 'too_old', message: /older than the minimum 22\.04/ },
  { check: 'os.min_version', name: 'an unlisted distribution', posture: osOf({ id: 'gentoo', name: 'Gentoo' }), params: minVersions, status: 'fail', reason: 'unsupported_distribution', message: /not a supported distribution/ },
  { check: 'os.min_version', name: 'an old Windows build', posture: { ...windowsPostureWithPublicFirewallOff(NOW), os: ok({ platform: 'win32' as const, id: 'windows', name: 'Windows 10 Pro', version: '10.0.19044', build: '19044', kernel: '', arch: 'x64' }) }, params: minVersions, status: 'fail', reason: 'too_old', message: /build 19044 is older than the minimum build 19045/ },
  { check: 'os.min_version', name: 'an unreadable OS', posture: { ...linux, os: unreadable }, params: minVersions, status: 'unknown', reason: 'unknown', message: /permission denied/ },
  { check: 'os.supported', name: 'an allowed platform', posture: linux, params: { platforms: ['linux', 'darwin'] }, status: 'pass', message: /allowed/ },
  { check: 'os.supported', name: 'a platform not allowed', posture: linux, params: { platforms: ['darwin'] }, status: 'fail', reason: 'platform_not_allowed', message: /not an allowed platform: only darwin/ },
  { check: 'os.supported', name: 'a distribution not allowed', posture: linux, params: { linux_distributions: ['debian'] }, status: 'fail', reason: 'distribution_not_allowed', message: /ubuntu\) is not an allowed distribution/ },
  { check: 'os.supported', name: 'an unreadable OS', posture: { ...linux, os: unreadable }, status: 'unknown', reason: 'unknown', message: /could not be read/ },
  { check: 'disk_encryption.system_volume', name: 'an encrypted system volume', posture: linux, status: 'pass', message: /encrypted \(luks2\)/ },
  ...(['off', 'encrypting', 'decrypting', 'suspended'] as const).map((state): Case => ({ check: 'disk_encryption.system_volume', name: `a system volume ${state}`, posture: volumes({ mount: '/', encrypted: state !== 'off', state, system: true }), status: 'fail', reason: state, message: /system volume \// })),
  { check: 'disk_encryption.system_volume', name: 'BitLocker waiting for activation', posture: { ...linux, disk_encryption: ok({ volumes: [{ mount: 'C:', encrypted: true, method: 'bitlocker', state: 'suspended' as const, detail: 'waiting_for_activation' as const, system: true }] }) }, status: 'fail', reason: 'waiting_for_activation', message: /system volume C: is waiting for activation/ },
  { check: 'disk_encryption.system_volume', name: 'no system volume reported', posture: volumes({ mount: '/data', encrypted: true, state: 'on' }), status: 'unknown', reason: 'unknown', message: /not found/ },
  { check: 'disk_encryption.system_volume', name: 'an unreadable disk section', posture: { ...linux, disk_encryption: unreadable }, status: 'unknown', reason: 'unknown', message: /permission denied/ },
  { check: 'disk_encryption.all_fixed_volumes', name: 'every volume encrypted', posture: volumes({ mount: '/', encrypted: true, state: 'on', system: true }, { mount: '/data', encrypted: true, state: 'on' }), status: 'pass', message: /all 2 fixed volumes are encrypted/ },
  { check: 'disk_encryption.all_fixed_volumes', name: 'a plain data volume', posture: volumes({ mount: '/', encrypted: true, state: 'on', system: true }, { mount: '/data', encrypted: false, state: 'off' }), status: 'fail', reason: 'off', message: /volume \/data is not encrypted/ },
  ...(['encrypting', 'decrypting'] as const).map((state): Case => ({ check: 'disk_encryption.all_fixed_volumes', name: `a data volume ${state}`, posture: volumes({ mount: '/', encrypted: true, state: 'on', system: true }, { mount: '/data', encrypted: true, state }), status: 'fail', reason: state, message: /\/data/ })),
  { check: 'disk_encryption.all_fixed_volumes', name: 'a suspended data volume', posture: volumes({ mount: '/', encrypted: true, state: 'on', system: true }, { mount: 'D:', encrypted: true, state: 'suspended' }), status: 'fail', reason: 'suspended', message: /D: is suspended/ },
  { check: 'disk_encryption.all_fixed_volumes', name: 'a data volume waiting for activation', posture: { ...linux, disk_encryption: ok({ volumes: [{ mount: 'C:', encrypted: true, method: 'bitlocker', state: 'on' as const, system: true }, { mount: 'D:', encrypted: true, method: 'bitlocker', state: 'suspended' as const, detail: 'waiting_for_activation' as const }] }) }, status: 'fail', reason: 'waiting_for_activation', message: /D: is waiting for activation/ },
  { check: 'disk_encryption.all_fixed_volumes', name: 'an excluded plain volume', posture: volumes({ mount: '/', encrypted: true, state: 'on', system: true }, { mount: '/scratch', encrypted: false, state: 'off' }), params: { exclude_mounts: ['/scratch'] }, status: 'pass', message: /all 1 fixed volume is encrypted/ },
  { check: 'disk_encryption.all_fixed_volumes', name: 'a volume of unknown state', posture: volumes({ mount: '/', encrypted: true, state: 'unknown', system: true }), status: 'unknown', reason: 'unknown', message: /protection state is unknown/ },
  { check: 'firewall.enabled', name: 'a firewall on', posture: linux, status: 'pass', message: /on \(nftables\)/ },
  { check: 'firewall.enabled', name: 'no firewall', posture: { ...linux, firewall: ok({ enabled: false, backend: 'none' as const, profiles: [] }) }, status: 'fail', reason: 'off', message: /no host firewall/ },
  { check: 'firewall.enabled', name: 'ufw filtering while the nftables ruleset is empty', posture: { ...linux, firewall: ok({ enabled: true, backend: 'ufw' as const, profiles: [{ name: 'ufw', enabled: true }, { name: 'nftables', enabled: false }] }) }, status: 'pass', message: /on \(ufw\)/ },
  { check: 'firewall.enabled', name: 'one Windows profile off', posture: windowsPostureWithPublicFirewallOff(NOW), status: 'fail', reason: 'profile_off', message: /off for profile Public/ },
  { check: 'firewall.enabled', name: 'no firewall tool installed', posture: { ...linux, firewall: { status: 'error' as const, collected_at: NOW, error: 'no firewall tool found: nft, iptables, ufw and firewall-cmd are not installed' } }, status: 'fail', reason: 'not_installed', message: /no firewall tool is installed/ },
  { check: 'firewall.enabled', name: 'an unreadable firewall', posture: { ...linux, firewall: unreadable }, status: 'unknown', reason: 'unknown', message: /permission denied/ },
  { check: 'patches.max_pending_security', name: 'nothing pending', posture: linux, params: { max: 0 }, status: 'pass', message: /0 security updates pending/ },
  { check: 'patches.max_pending_security', name: 'updates pending', posture: patched({ pending_security: 3 }), params: { max: 1 }, status: 'fail', reason: 'pending', message: /3 security updates are pending \(at most 1 allowed\)/ },
  { check: 'patches.max_pending_security', name: 'packages pending, unit named', posture: patched({ pending_security: 4, pending_security_unit: 'packages' }), params: { max: 1 }, status: 'fail', reason: 'pending', message: /4 security updates are pending \(at most 1 allowed\), counted in packages/ },
  { check: 'patches.max_pending_security', name: 'unreadable patches', posture: { ...linux, patches: unreadable }, status: 'unknown', reason: 'unknown', message: /could not be read/ },
  { check: 'patches.max_days_since_update', name: 'a recent update', posture: patched({ last_installed_at: NOW - 3 * 86400 }), params: { max_days: 30 }, status: 'pass', message: /3 days ago/ },
  { check: 'patches.max_days_since_update', name: 'an old update', posture: patched({ last_installed_at: NOW - 45 * 86400 }), params: { max_days: 30 }, status: 'fail', reason: 'stale', message: /45 days ago \(at most 30 allowed\)/ },
  { check: 'patches.max_days_since_update', name: 'no update history', posture: patched({ last_installed_at: null }), status: 'unknown', reason: 'unknown', message: /not reported by apt/ },
  { check: 'patches.auto_updates', name: 'automatic updates on', posture: linux, status: 'pass', message: /on \(apt\)/ },
  { check: 'patches.auto_updates', name: 'automatic updates off', posture: patched({ auto_updates: false }), status: 'fail', reason: 'off', message: /off \(apt\)/ },
  { check: 'patches.auto_updates', name: 'automatic updates not known', posture: patched({ auto_updates: null }), status: 'unknown', reason: 'unknown', message: /not known/ },
  { check: 'screen_lock.max_idle_minutes', name: 'a quick lock', posture: { ...linux, screen_lock: ok({ enabled: true, idle_minutes: 5 }) }, params: { max: 10 }, status: 'pass', message: /after 5 idle minutes/ },
  { check: 'screen_lock.max_idle_minutes', name: 'no lock', posture: { ...linux, screen_lock: ok({ enabled: false, idle_minutes: null }) }, status: 'fail', reason: 'off', message: /screen lock is off/ },
  { check: 'screen_lock.max_idle_minutes', name: 'a lock after too long', posture: { ...linux, screen_lock: ok({ enabled: true, idle_minutes: 30 }) }, params: { max: 10 }, status: 'fail', reason: 'idle_too_long', message: /only after 30 idle minutes \(at most 10 allowed\)/ },
  { check: 'screen_lock.max_idle_minutes', name: 'a section the agent did not send', posture: linux, status: 'unknown', reason: 'unknown', message: /not reported by the agent/ },
  { check: 'secure_boot.enabled', name: 'Secure Boot on', posture: { ...linux, secure_boot: ok({ enabled: true }) }, status: 'pass', message: /on/ },
  { check: 'secure_boot.enabled', name: 'Secure Boot off', posture: { ...linux, secure_boot: ok({ enabled: false }) }, status: 'fail', reason: 'off', message: /Secure Boot is off/ },
  { check: 'secure_boot.enabled', name: 'a legacy BIOS machine', posture: { ...linux, secure_boot: { status: 'error', collected_at: NOW, error: 'not supported: legacy BIOS boot' } }, status: 'fail', reason: 'unsupported', message: /not available on this machine/ },
  { check: 'secure_boot.enabled', name: 'an unreadable Secure Boot state', posture: { ...linux, secure_boot: unreadable }, status: 'unknown', reason: 'unknown', message: /permission denied/ },
  { check: 'antivirus.active', name: 'an up-to-date product', posture: { ...linux, antivirus: ok({ active: true, products: [{ name: 'Defender', enabled: true, up_to_date: true }] }) }, status: 'pass', message: /active \(Defender\)/ },
  { check: 'antivirus.active', name: 'no active product', posture: { ...linux, antivirus: ok({ active: false, products: [{ name: 'Defender', enabled: false, up_to_date: true }] }) }, status: 'fail', reason: 'inactive', message: /Defender off/ },
  { check: 'antivirus.active', name: 'old signatures', posture: { ...linux, antivirus: ok({ active: true, products: [{ name: 'Defender', enabled: true, up_to_date: false }] }) }, status: 'fail', reason: 'out_of_date', message: /signatures of Defender are out of date/ },
  { check: 'antivirus.active', name: 'old signatures allowed', posture: { ...linux, antivirus: ok({ active: true, products: [{ name: 'Defender', enabled: true, up_to_date: false }] }) }, params: { require_up_to_date: false }, status: 'pass', message: /active/ },
  { check: 'antivirus.active', name: 'signature state not known', posture: { ...linux, antivirus: ok({ active: true, products: [{ name: 'ClamAV', enabled: true, up_to_date: null }] }) }, status: 'unknown', reason: 'unknown', message: /not known/ },
  { check: 'agent.min_version', name: 'a current agent', posture: linux, params: { min: '0.2.0' }, agentVersion: '0.3.1', status: 'pass', message: /0\.3\.1 is at or above 0\.2\.0/ },
  { check: 'agent.min_version', name: 'an old agent', posture: linux, params: { min: '0.2.0' }, agentVersion: '0.1.9', status: 'fail', reason: 'too_old', message: /0\.1\.9 is older than the minimum 0\.2\.0/ },
  { check: 'agent.min_version', name: 'an agent of unknown version', posture: linux, params: { min: '0.2.0' }, agentVersion: null, status: 'unknown', reason: 'unknown', message: /not known/ },
  { check: 'report.max_age', name: 'fresh sections', posture: linux, params: { max_age: 600 }, status: 'pass', message: /fresh/ },
  { check: 'report.max_age', name: 'a section collected long before the report', posture: linux, params: { max_age: 600 }, attestedAt: NOW + 900, status: 'fail', reason: 'stale_sections', message: /: disk_encryption \(900 s old\), firewall \(900 s old\)/ },
  // Facts the agent reads less often (os, pending updates) are judged within their own, longer window.
  { check: 'report.max_age', name: 'slow sections within their windows', posture: { ...collectedAt(linux, NOW + 1800), os: linux.os, patches: linux.patches }, params: { max_age: 600 }, attestedAt: NOW + 1800, status: 'pass', message: /fresh/ },
];

describe.each(cases)('$check judges $name', (c) => {
  const check = catalog.get(c.check) as CatalogCheck;
  const params = check.params.parse(c.params ?? {});
  const finding = check.evaluate(c.posture, params, { attestedAt: c.attestedAt ?? NOW, agentVersion: c.agentVersion === undefined ? '0.1.0' : c.agentVersion });

  it(`as ${c.status}${c.reason ? ` (${c.reason})` : ''}, saying concretely why`, () => {
    expect(finding.status).toBe(c.status);
    if (c.reason) expect(finding.reason).toBe(c.reason);
    expect(finding.message).toMatch(c.message);
  });

  if (c.status !== 'pass') {
    it.each(['linux', 'darwin', 'win32'] as Platform[])('has remediation for that state on %s', (platform) => {
      const def = { id: c.check, severity: 'high' as const, weight: 1, enforcement: 'block' as const, params, remediation: {} };
      expect(remediationFor(def, platform, finding.reason ?? 'default')?.length).toBeGreaterThan(20);
    });
  }
});

describe('the catalog', () => {
  it('has the thirteen checks the policy language names', () => {
    expect([...catalog.keys()].sort()).toEqual(
      [
        'agent.min_version',
        'antivirus.active',
        'disk_encryption.all_fixed_volumes',
        'disk_encryption.system_volume',
        'firewall.enabled',
        'os.min_version',
        'os.supported',
        'patches.auto_updates',
        'patches.max_days_since_update',
        'patches.max_pending_security',
        'report.max_age',
        'screen_lock.max_idle_minutes',
        'secure_boot.enabled',
      ].sort(),
    );
  });

  it('has a remediation text of its own for every failing state of every check on every platform', () => {
    for (const check of catalog.values()) {
      for (const platform of ['linux', 'darwin', 'win32'] as const) {
        for (const state of check.reasons) expect(check.remediation[platform][state] ?? check.remediation[platform].default, `${check.id} ${platform} ${state}`).toBeTruthy();
      }
    }
  });

  it('is exercised by the table above for every failing state', () => {
    for (const check of catalog.values()) {
      for (const state of check.reasons) expect(cases.some((c) => c.check === check.id && c.reason === state), `${check.id} ${state}`).toBe(true);
      expect(cases.some((c) => c.check === check.id && c.status === 'pass'), `${check.id} pass`).toBe(true);
    }
  });

  it('uses different words on a Mac than on Linux', () => {
    const def = { id: 'disk_encryption.system_volume', severity: 'critical' as const, weight: 1, enforcement: 'block' as const, params: {}, remediation: {} };
    expect(remediationFor(def, 'darwin', 'suspended')).toMatch(/FileVault/);
    expect(remediationFor(def, 'win32', 'suspended')).toMatch(/manage-bde -protectors -enable/);
    expect(remediationFor(def, 'linux', 'suspended')).toMatch(/luksResume/);
    expect(remediationFor(def, 'win32', 'waiting_for_activation')).toMatch(/Microsoft account/);
    expect(remediationFor(def, 'win32', 'waiting_for_activation')).not.toMatch(/suspended/);
    const firewall = { ...def, id: 'firewall.enabled' };
    expect(remediationFor(firewall, 'linux', 'not_installed')).toMatch(/install/i);
    expect(remediationFor(firewall, 'linux', 'not_installed')).not.toMatch(/as root/);
    expect(healthyMacPosture(NOW).os.status).toBe('ok');
  });
});

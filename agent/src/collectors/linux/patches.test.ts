import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { parseAptCheck, parseAptListUpgradable } from './parse-apt.js';
import { lastInstallInAptHistory } from './parse-apt-history.js';
import { parseDnfCheckUpdate, parseDnfSecurityPackages } from './parse-dnf.js';
import { APT_CHECK, linuxPatches } from './patches.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const APT_LIST = 'apt list --upgradable';
const APT_CONFIG = 'apt-config shell UU APT::Periodic::Unattended-Upgrade';
const HISTORY = '/var/log/apt/history.log';
const RPM = 'rpm -qa --qf %{INSTALLTIME}\\n';
const aptWarning = '\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n';
const aptList = (stdout: string): RecordedExec => ({ code: 0, stdout, stderr: aptWarning });
const history = fixture('linux/var-log-apt-history.log-unattended-upgrade.txt');
/** End-Date of the newest stanza in the history fixture, 2024-09-13 08:01:24 local time. */
const lastStanzaUtc = Date.UTC(2024, 8, 13, 8, 1, 24) / 1000;

function probe(recording: ProbeRecording) {
  return linuxPatches(recordedProbeContext(recording));
}
const ok = (facts: object) => ({ status: 'ok', collected_at, pending_security_unit: 'packages', ...facts });
const error = (reason: string) => ({ status: 'error', collected_at, error: reason });

describe('linux patches section (apt)', () => {
  it('counts pending and security updates from apt list --upgradable (Ubuntu 22.04)', async () => {
    const section = await probe({
      commands: { [APT_LIST]: aptList(fixture('linux/apt-list-upgradable-jammy.txt')), [APT_CONFIG]: "UU='1'\n" },
      files: { [HISTORY]: history },
    });
    expect(section).toEqual(
      ok({ pending: 15, pending_security: 9, last_installed_at: lastStanzaUtc, auto_updates: true, source: 'apt' }),
    );
  });

  it('recognises Debian security pockets (this development VM, Debian 12 "oldstable-security")', async () => {
    const section = await probe({
      commands: { [APT_LIST]: aptList(fixture('linux/apt-list-upgradable-debian12-vm.txt')), [APT_CONFIG]: '' },
    });
    expect(section).toEqual(ok({ pending: 136, pending_security: 81, last_installed_at: null, auto_updates: false, source: 'apt' }));
  });

  it("prefers Ubuntu's apt-check counts, which it writes to stderr", async () => {
    const section = await probe({
      commands: {
        [APT_CHECK]: { code: 0, stdout: '', stderr: fixture('linux/apt-check-default-stderr-format-source.txt').trimEnd() },
        [APT_LIST]: aptList(fixture('linux/apt-list-upgradable-jammy.txt')),
        [APT_CONFIG]: "UU='1'\n",
      },
    });
    expect(section).toMatchObject({ status: 'ok', pending: 4, pending_security: 2 });
  });

  it.each([
    'apt-check-human-readable-motd-75-updates-31-security.txt',
    'apt-check-human-readable-motd-esm-apps-not-enabled-0-updates.txt',
    'apt-check-human-readable-motd-esm-infra-18.04-28-additional.txt',
  ])('does not read counts out of the translated human-readable apt-check text (%s)', async (file) => {
    expect(parseAptCheck(fixture(`linux/${file}`))).toBeNull();
    const section = await probe({
      commands: {
        [APT_CHECK]: { code: 0, stdout: fixture(`linux/${file}`), stderr: '' },
        [APT_LIST]: aptList(fixture('linux/apt-list-upgradable-jammy.txt')),
      },
    });
    expect(section).toMatchObject({ status: 'ok', pending: 15, pending_security: 9 });
  });

  it('counts only upgradable packages in the older "[installed,upgradable to: X]" listing', () => {
    expect(parseAptListUpgradable(fixture('linux/apt-list-installed-upgradable-to-variant-trusty.txt'))).toEqual({ pending: 2, security: 0 });
  });

  it('reports an error rather than zero when apt list fails', async () => {
    const failed = { code: 100, stdout: '', stderr: 'E: Could not open file /var/lib/apt/lists/x_Packages - open (13: Permission denied)\n' };
    expect(await probe({ commands: { [APT_LIST]: failed } })).toEqual(
      error('apt list exited with code 100: E: Could not open file /var/lib/apt/lists/x_Packages - open (13: Permission denied)'),
    );
  });

  it('reports an error rather than zero when apt list prints something unexpected', async () => {
    expect(await probe({ commands: { [APT_LIST]: aptList('') } })).toEqual(error('unrecognised apt list output'));
  });

  it("converts the history log's local time with the device's time zone", async () => {
    const section = await probe({
      timeZone: 'Europe/Berlin',
      commands: { [APT_LIST]: aptList('Listing...\n') },
      files: { [HISTORY]: history },
    });
    expect(section).toMatchObject({ pending: 0, last_installed_at: lastStanzaUtc - 2 * 3600 });
  });

  it('looks in last month’s rotated history when this month’s has no install', async () => {
    const removalOnly = 'Start-Date: 2024-10-01  09:00:00\nCommandline: apt-get remove foo\nRemove: foo:amd64 (1.0)\nEnd-Date: 2024-10-01  09:00:01\n';
    const section = await probe({
      commands: { [APT_LIST]: aptList('Listing...\n'), 'gzip -dc /var/log/apt/history.log.1.gz': history },
      files: { [HISTORY]: removalOnly },
    });
    expect(section).toMatchObject({ last_installed_at: lastStanzaUtc });
  });

  it('reports auto_updates as unknown when apt-config cannot be asked', async () => {
    expect(await probe({ commands: { [APT_LIST]: aptList('Listing...\n') } })).toMatchObject({ auto_updates: null });
  });

  it('uses the start of a run that never wrote its End-Date', () => {
    expect(lastInstallInAptHistory('Start-Date: 2025-01-02  03:04:05\nUpgrade: a:amd64 (1, 2)\n')).toEqual({
      year: 2025,
      month: 1,
      day: 2,
      hour: 3,
      minute: 4,
      second: 5,
    });
  });
});

describe('linux patches section (dnf/yum)', () => {
  const systemdNoUnit = (unit: string): RecordedExec => ({
    code: 1,
    stdout: '',
    stderr: `Failed to get unit file state for ${unit}: No such file or directory\n`,
  });

  it('counts updates from yum check-update (exit 100) and security packages from updateinfo (EL7)', async () => {
    const updateinfo = [
      'RHSA-2023:3481 Important/Sec. openssl-1:1.0.2k-26.el7_9.x86_64',
      'RHSA-2023:3481 Important/Sec. openssl-libs-1:1.0.2k-26.el7_9.x86_64',
      'RHSA-2023:3555 Important/Sec. python-2.7.5-93.el7_9.x86_64',
      'RHSA-2023:4000 Moderate/Sec.  sudo-1.8.23-10.el7_9.3.x86_64',
      'RHSA-2023:4001 Important/Sec. openssl-1:1.0.2k-26.el7_9.x86_64',
    ].join('\n');
    const section = await probe({
      commands: {
        'yum -q -C check-update': { code: 100, stdout: fixture('linux/dnf-check-update-el7.txt'), stderr: '' },
        'yum -q -C updateinfo list --security': `${updateinfo}\n`,
        [RPM]: '1690000000\n1695000000\n1680000000\n',
        'systemctl is-enabled dnf-automatic-install.timer': systemdNoUnit('dnf-automatic-install.timer'),
        'systemctl is-enabled dnf-automatic.timer': systemdNoUnit('dnf-automatic.timer'),
        'systemctl is-enabled dnf5-automatic.timer': systemdNoUnit('dnf5-automatic.timer'),
        'systemctl is-enabled yum-cron.service': 'enabled\n',
      },
      files: { '/etc/yum/yum-cron.conf': '[commands]\nupdate_cmd = security\napply_updates = yes\n' },
    });
    expect(section).toEqual(ok({ pending: 15, pending_security: 4, last_installed_at: 1695000000, auto_updates: true, source: 'yum' }));
  });

  it('reports no pending updates when dnf check-update exits 0, and dnf-automatic that only downloads as off', async () => {
    const section = await probe({
      commands: {
        'dnf -q -C check-update': '',
        [RPM]: '1700000000\n',
        'systemctl is-enabled dnf-automatic-install.timer': { code: 1, stdout: 'disabled\n', stderr: '' },
        'systemctl is-enabled dnf-automatic.timer': 'enabled\n',
      },
      files: { '/etc/dnf/automatic.conf': '[commands]\nupgrade_type = default\ndownload_updates = yes\napply_updates = no\n' },
    });
    expect(section).toEqual(ok({ pending: 0, pending_security: 0, last_installed_at: 1700000000, auto_updates: false, source: 'dnf' }));
  });

  it('says to run makecache when dnf has no cached metadata, instead of refreshing it', async () => {
    const section = await probe({
      commands: { 'dnf -q -C check-update': { code: 1, stdout: '', stderr: "Error: Cache-only enabled but no cache for 'fedora'\n" } },
    });
    expect(section).toEqual(error('dnf has no cached metadata: run dnf makecache'));
  });

  it('reports an error rather than a zero security count when updateinfo fails', async () => {
    const section = await probe({
      commands: {
        'dnf -q -C check-update': { code: 100, stdout: 'curl.x86_64  8.6.0-8.fc40  updates\n', stderr: '' },
        'dnf -q -C updateinfo list --security': { code: 1, stdout: '', stderr: 'Error: Failed to load updateinfo\n' },
      },
    });
    expect(section).toEqual(error('dnf updateinfo failed: Error: Failed to load updateinfo'));
  });

  it('says updateinfo timed out rather than "exit null"', async () => {
    const section = await probe({
      commands: {
        'dnf -q -C check-update': { code: 100, stdout: 'curl.x86_64  8.6.0-8.fc40  updates\n', stderr: '' },
        'dnf -q -C updateinfo list --security': { code: null, stdout: '', stderr: '', failure: 'timeout' },
      },
    });
    expect(section).toEqual(error('dnf updateinfo timed out'));
  });

  it('reports an error when no supported package manager is installed', async () => {
    expect(await probe({})).toEqual(error('no supported package manager found (apt, dnf, yum)'));
  });

  it('joins a long package name that check-update wrapped onto two lines', () => {
    const text = 'Last metadata expiration check: 0:01:02 ago.\n\nvery-long-package-name-for-wrapping.x86_64\n        1.2.3-1.fc40        updates\nzlib.x86_64  1.2.13-5.fc40  updates\nObsoleting Packages\nold.x86_64  1-1  updates\n';
    expect(parseDnfCheckUpdate(text)).toBe(2);
  });

  it('counts distinct packages in the dnf5 advisory table', () => {
    const text = [
      'Name                   Type     Severity Package                         Issued',
      'FEDORA-2024-1a2b3c4d5e security Moderate curl-8.6.0-8.fc40.x86_64        2024-06-01 01:23:45',
      'FEDORA-2024-1a2b3c4d5e security Moderate libcurl-8.6.0-8.fc40.x86_64     2024-06-01 01:23:45',
      'FEDORA-2024-9f8e7d6c5b security Important curl-8.6.0-9.fc40.x86_64       2024-07-01 01:23:45',
    ].join('\n');
    expect(parseDnfSecurityPackages(text)).toBe(2);
  });

  it('counts packages as check-update does: one advisory over four packages is four, four kernel advisories one, each arch its own', () => {
    const text = [
      'RHSA-2024:0001 Important/Sec. openssl-1:3.0.7-25.el9_3.x86_64',
      'RHSA-2024:0001 Important/Sec. openssl-libs-1:3.0.7-25.el9_3.x86_64',
      'RHSA-2024:0001 Important/Sec. openssl-libs-1:3.0.7-25.el9_3.i686',
      'RHSA-2024:0001 Important/Sec. openssl-devel-1:3.0.7-25.el9_3.x86_64',
      'RHSA-2024:0101 Important/Sec. kernel-5.14.0-362.13.1.el9_3.x86_64',
      'RHSA-2024:0102 Important/Sec. kernel-5.14.0-362.18.1.el9_3.x86_64',
      'RHSA-2024:0103 Moderate/Sec.  kernel-5.14.0-362.24.1.el9_3.x86_64',
      'RHSA-2024:0104 Important/Sec. kernel-5.14.0-427.13.1.el9_4.x86_64',
    ].join('\n');
    expect(parseDnfSecurityPackages(text)).toBe(5);
  });
});

import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { parseBputil, parseCsrutilStatus, SECURE_BOOT_POLICY_VAR } from './parse-boot-policy.js';
import { APPLE_SILICON_ARGS, darwinSecureBoot, NO_SECURE_BOOT } from './secure-boot.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const ARM64 = commandLine('sysctl', APPLE_SILICON_ARGS);
const NVRAM = commandLine('nvram', [SECURE_BOOT_POLICY_VAR]);
const appleSilicon = { [ARM64]: '1\n' };
const csrEnabled = { 'csrutil status': transcriptOutput(fixture('macos/csrutil-status-enabled.txt'), 'csrutil status') };

/** The kolide captures are cut short before the policy rows; this adds rows as bputil prints them. */
function withPolicyRows(file: string, mode: string): string {
  return fixture(`macos/${file}`).replace(/(Local policy for volume group [^:]+:\n)/g, `$1Security Mode:               ${mode}       (smb0): absent\nSIP Status:                  Enabled    (sip0): absent\n`);
}

function probe(commands: ProbeRecording['commands'], isPrivileged = true) {
  return darwinSecureBoot(recordedProbeContext({ platform: 'darwin', isPrivileged, commands }));
}
const error = (reason: string) => ({ status: 'error', collected_at, error: reason });

describe('macOS secure boot section', () => {
  it('reports Full Security of an Apple silicon Mac, with SIP', async () => {
    const section = await probe({ ...appleSilicon, ...csrEnabled, 'bputil -d': withPolicyRows('bputil-d-one-boot-vol.txt', 'Full') });
    expect(section).toEqual({ status: 'ok', collected_at, enabled: true, mode: 'full', system_integrity_protection: 'enabled' });
  });

  it('lets the weakest volume group decide when several can boot', async () => {
    const text = withPolicyRows('bputil-d-multiple-boot-vol.txt', 'Full').replace(/Full( {7}\(smb0\))(?![\s\S]*Full {7}\(smb0\))/, 'Permissive$1');
    expect(await probe({ ...appleSilicon, 'bputil -d': text })).toEqual({ status: 'ok', collected_at, enabled: false, mode: 'permissive' });
  });

  it('reports SIP with parts switched off as custom, not enabled', async () => {
    const section = await probe({ ...appleSilicon, 'csrutil status': fixture('macos/csrutil-status-custom-configuration.txt'), 'bputil -d': withPolicyRows('bputil-d-one-boot-vol.txt', 'Reduced') });
    expect(section).toEqual({ status: 'ok', collected_at, enabled: true, mode: 'reduced', system_integrity_protection: 'custom' });
  });

  it.each(['bputil-d-one-boot-vol.txt', 'bputil-d-multiple-boot-vol.txt'])('reports an error when bputil prints no security mode (%s as captured)', async (file) => {
    expect(await probe({ ...appleSilicon, 'bputil -d': fixture(`macos/${file}`) })).toEqual(error('bputil did not report a security mode'));
  });

  it('says how many volume groups bputil could not read', async () => {
    expect(await probe({ ...appleSilicon, 'bputil -d': fixture('macos/bputil-d-failed-second-vol.txt') })).toEqual(error('bputil did not report a security mode (1 volume group could not be read)'));
  });

  it('asks for root when bputil gives nothing to an ordinary user', async () => {
    expect(await probe({ ...appleSilicon, 'bputil -d': { code: 1, stdout: '', stderr: 'bputil: must be run as root\n' } }, false)).toEqual(
      error('permission denied: run the agent as root to read the boot policy'),
    );
  });

  it("reads a T2 Mac's secure boot policy from NVRAM", async () => {
    expect(await probe({ [NVRAM]: `${SECURE_BOOT_POLICY_VAR}\t%02\n` })).toEqual({ status: 'ok', collected_at, enabled: true, mode: 'full' });
    expect(await probe({ [NVRAM]: `${SECURE_BOOT_POLICY_VAR}\t%00\n` })).toEqual({ status: 'ok', collected_at, enabled: false, mode: 'none' });
  });

  it('says an Intel Mac without a T2 chip has no secure boot, rather than "off"', async () => {
    const missing = { code: 1, stdout: '', stderr: `nvram: Error getting variable - '${SECURE_BOOT_POLICY_VAR}': (iokit/common) data was not found\n` };
    expect(await probe({ [NVRAM]: missing })).toEqual(error(NO_SECURE_BOOT));
  });
});

describe('parseBputil and parseCsrutilStatus', () => {
  it('reads every volume group and counts the ones that failed', () => {
    expect(parseBputil(fixture('macos/bputil-d-failed-second-vol.txt'))).toEqual({ modes: [], failed: 1 });
    expect(parseBputil(withPolicyRows('bputil-d-multiple-boot-vol.txt', 'Full'))).toEqual({ modes: ['full', 'full'], failed: 0 });
  });

  it('reads SIP status', () => {
    expect(parseCsrutilStatus(transcriptOutput(fixture('macos/csrutil-status-enabled.txt'), 'csrutil status'))).toBe('enabled');
    expect(parseCsrutilStatus(fixture('macos/csrutil-status-custom-configuration.txt'))).toBe('custom');
    expect(parseCsrutilStatus('System Integrity Protection status: disabled.\n')).toBe('disabled');
  });
});

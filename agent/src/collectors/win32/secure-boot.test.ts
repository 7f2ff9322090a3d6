import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { psError } from '../../../fixtures/powershell-error.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { powershellLine } from './powershell.js';
import { NO_UEFI, SECURE_BOOT_SCRIPT, SECURE_BOOT_STATE_ARGS, windowsSecureBoot } from './secure-boot.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const CONFIRM = powershellLine(SECURE_BOOT_SCRIPT);
const STATE = commandLine('reg', SECURE_BOOT_STATE_ARGS);
const notSupported = psError('System.PlatformNotSupportedException', fixture('windows/Confirm-SecureBootUEFI-bios-not-supported.txt').trim());
const accessDenied = psError('System.UnauthorizedAccessException', fixture('windows/Confirm-SecureBootUEFI-non-admin.txt').trim());

function probe(commands: ProbeRecording['commands'], isPrivileged = true) {
  return windowsSecureBoot(recordedProbeContext({ platform: 'win32', isPrivileged, commands }));
}

describe('Windows secure boot section', () => {
  it('reads True from Confirm-SecureBootUEFI as an administrator', async () => {
    const answer = transcriptOutput(fixture('windows/Confirm-SecureBootUEFI-true.txt'), 'Confirm-SecureBootUEFI');
    expect(await probe({ [CONFIRM]: answer })).toEqual({ status: 'ok', collected_at, enabled: true });
  });

  it('says Secure Boot is not supported on BIOS firmware, never "off"', async () => {
    expect(await probe({ [CONFIRM]: notSupported })).toEqual({ status: 'error', collected_at, error: NO_UEFI });
  });

  it('reads the registry when the cmdlet is denied without elevation', async () => {
    const state = '\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecureBoot\\State\r\n    UEFISecureBootEnabled    REG_DWORD    0x0\r\n\r\n';
    expect(await probe({ [CONFIRM]: accessDenied, [STATE]: state }, false)).toEqual({ status: 'ok', collected_at, enabled: false });
    expect(await probe({ [CONFIRM]: accessDenied, [STATE]: { code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n' } }, false)).toEqual({
      status: 'error',
      collected_at,
      error: NO_UEFI,
    });
  });
});

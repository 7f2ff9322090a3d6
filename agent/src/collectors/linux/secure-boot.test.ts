import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { EFI_PLATFORM_SIZE, linuxSecureBoot, NO_EFI, NO_SECURE_BOOT, SECURE_BOOT_VAR, SETUP_MODE_VAR } from './secure-boot.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const MOKUTIL = 'mokutil --sb-state';
/** efivarfs content: four attribute bytes, then the value byte. */
const efiVar = (value: number) => `\x06\x00\x00\x00${String.fromCharCode(value)}`;

function probe(recording: ProbeRecording) {
  return linuxSecureBoot(recordedProbeContext(recording));
}
const ok = (enabled: boolean, mode?: string) => ({ status: 'ok', collected_at, enabled, ...(mode ? { mode } : {}) });
const error = (reason: string) => ({ status: 'error', collected_at, error: reason });

describe('linux secure boot section', () => {
  it('reads "SecureBoot enabled" and "SecureBoot disabled" from mokutil', async () => {
    expect(await probe({ commands: { [MOKUTIL]: fixture('linux/mokutil-sb-state-enabled.txt') } })).toEqual(ok(true));
    expect(await probe({ commands: { [MOKUTIL]: transcriptOutput(fixture('linux/mokutil-sb-state-disabled.txt'), 'mokutil --sb-state') } })).toEqual(ok(false));
  });

  it('reports Secure Boot with validation disabled in shim as off', async () => {
    expect(await probe({ commands: { [MOKUTIL]: fixture('linux/mokutil-sb-state-enabled-but-shim-validation-disabled.txt') } })).toEqual(
      ok(false, 'shim_validation_disabled'),
    );
  });

  it('says "not supported" for firmware without Secure Boot (exit 255 on stderr), never "disabled"', async () => {
    const unsupported = { code: 255, stdout: '', stderr: fixture('linux/mokutil-sb-state-not-supported-exit-255.txt') };
    expect(await probe({ commands: { [MOKUTIL]: unsupported } })).toEqual(error(NO_SECURE_BOOT));
    const bios = { code: 255, stdout: '', stderr: 'EFI variables are not supported on this system\n' };
    expect(await probe({ commands: { [MOKUTIL]: bios } })).toEqual(error(NO_EFI));
  });

  it('reads the SecureBoot EFI variable when mokutil is not installed', async () => {
    expect(await probe({ files: { [SECURE_BOOT_VAR]: efiVar(1), [EFI_PLATFORM_SIZE]: '64\n' } })).toEqual(ok(true));
    expect(await probe({ files: { [SECURE_BOOT_VAR]: efiVar(1), [SETUP_MODE_VAR]: efiVar(1), [EFI_PLATFORM_SIZE]: '64\n' } })).toEqual(ok(false, 'setup'));
    expect(await probe({ files: { [EFI_PLATFORM_SIZE]: '64\n' } })).toEqual(error(NO_SECURE_BOOT));
  });

  it('says Secure Boot is not supported on BIOS firmware when the machine did not boot through UEFI (this development VM)', async () => {
    expect(await probe({})).toEqual(error(NO_EFI));
  });
});

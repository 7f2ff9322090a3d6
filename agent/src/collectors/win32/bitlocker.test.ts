import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { psError } from '../../../fixtures/powershell-error.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { BITLOCKER_VOLUME_SCRIPT, ENCRYPTABLE_VOLUME_SCRIPT, NO_BITLOCKER, windowsDiskEncryption } from './bitlocker.js';
import { parseBitLockerVolumeJson } from './parse-bitlocker-volume.js';
import { parseManageBdeStatus } from './parse-manage-bde.js';
import { powershellLine } from './powershell.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const CMDLET = powershellLine(BITLOCKER_VOLUME_SCRIPT);
const WMI = powershellLine(ENCRYPTABLE_VOLUME_SCRIPT);
const MANAGE_BDE = 'manage-bde -status';
const NOT_ADMIN = 'permission denied: run the agent as Administrator (the installed service runs as SYSTEM) to read BitLocker';
const noModule = psError('System.Management.Automation.CommandNotFoundException', "The term 'Get-BitLockerVolume' is not recognized as the name of a cmdlet.");
const on = { encrypted: true, method: 'bitlocker', state: 'on' };
const off = { encrypted: false, method: null, state: 'off' };

function probe(commands: ProbeRecording['commands'], isPrivileged = true) {
  return windowsDiskEncryption(recordedProbeContext({ platform: 'win32', isPrivileged, commands }));
}
const ok = (...volumes: object[]) => ({ status: 'ok', collected_at, volumes });
const error = (reason: string) => ({ status: 'error', collected_at, error: reason });

/** Get-BitLockerVolume JSON with the C: volume of the fixture changed. */
function cmdletWith(changes: Record<string, unknown>): string {
  const volumes = JSON.parse(fixture('windows/Get-BitLockerVolume-ConvertTo-Json-numeric-enums.txt')) as Array<Record<string, unknown>>;
  Object.assign(volumes[0]!, changes);
  return JSON.stringify(volumes);
}

/**
 * The C3-Protect inventory summary says what WMI said of C:: "Fully Encrypted", "Protection Off",
 * AES 128, VolumeType 0. This is that volume as the WMI probe reads it.
 */
function wmiFromInventorySummary(): string {
  const summary = fixture('windows/wmi-Win32_EncryptableVolume-summary-protection-off-fully-encrypted.txt');
  const field = (name: string) => new RegExp(`Bitlocker - ${name} - Windows (.*?)\\s*$`, 'mi').exec(summary)![1]!;
  const conversion = { 'Fully Encrypted': 1, 'Fully Decrypted': 0 }[field('Status')]!;
  const protection = { 'Protection On': 1, 'Protection Off': 0 }[field('Protection Status')]!;
  const method = { 'AES 128': 3, 'AES 256': 4 }[field('Encryption Method')]!;
  const volumeType = Number(/VolumeType=(\d)/.exec(field('Volume Type'))![1]);
  return JSON.stringify([
    {
      volume: { DeviceID: '\\\\?\\Volume{00000000-0000-0000-0000-000000000001}\\', DriveLetter: field('Encryptable Volumes'), VolumeType: volumeType, ConversionStatus: conversion, ProtectionStatus: protection, EncryptionMethod: method },
      conversionStatus: { ConversionStatus: conversion, EncryptionPercentage: 100 },
      lockStatus: { LockStatus: 0 },
      protectionStatus: { ProtectionStatus: protection },
    },
  ]);
}

describe('Windows disk encryption section (BitLocker)', () => {
  it('reads Get-BitLockerVolume JSON with numeric enums: C: protected, E: decrypted', async () => {
    expect(await probe({ [CMDLET]: fixture('windows/Get-BitLockerVolume-ConvertTo-Json-numeric-enums.txt') })).toEqual(
      ok({ mount: 'C:', ...on, system: true }, { mount: 'E:', ...off }),
    );
  });

  it('reports fully encrypted with protection off as suspended, and without any protector as waiting for activation', async () => {
    expect(await probe({ [CMDLET]: cmdletWith({ ProtectionStatus: 0 }) })).toEqual(
      ok({ mount: 'C:', encrypted: true, method: 'bitlocker', state: 'suspended', system: true }, { mount: 'E:', ...off }),
    );
    expect(await probe({ [CMDLET]: cmdletWith({ ProtectionStatus: 0, KeyProtector: [] }) })).toMatchObject({
      volumes: [{ mount: 'C:', state: 'suspended', detail: 'waiting_for_activation' }, {}],
    });
  });

  it('reports protection off with only a TPM protector (Device Encryption before the first Microsoft account sign-in) as waiting for activation', async () => {
    expect(await probe({ [CMDLET]: cmdletWith({ ProtectionStatus: 0, KeyProtector: [{ KeyProtectorType: 1 }] }) })).toMatchObject({
      volumes: [{ mount: 'C:', encrypted: true, state: 'suspended', detail: 'waiting_for_activation' }, {}],
    });
    // A TPM and a recovery password with protection off is a suspension (Suspend-BitLocker).
    const suspended = await probe({ [CMDLET]: cmdletWith({ ProtectionStatus: 0, KeyProtector: [{ KeyProtectorType: 3 }, { KeyProtectorType: 1 }] }) });
    expect(suspended).toMatchObject({ volumes: [{ mount: 'C:', state: 'suspended' }, {}] });
    expect((suspended as { volumes: Array<{ detail?: string }> }).volumes[0]!.detail).toBeUndefined();
  });

  it('reports encryption in progress or paused as encrypting, and decryption with how far it got', async () => {
    expect(await probe({ [CMDLET]: cmdletWith({ VolumeStatus: 2, ProtectionStatus: 1, EncryptionPercentage: 40 }) })).toMatchObject({
      volumes: [{ mount: 'C:', encrypted: false, method: 'bitlocker', state: 'encrypting', progress: 40 }, {}],
    });
    expect(await probe({ [CMDLET]: cmdletWith({ VolumeStatus: 4, ProtectionStatus: 0, EncryptionPercentage: 3.5 }) })).toMatchObject({
      volumes: [{ mount: 'C:', state: 'encrypting', progress: 3.5, detail: 'paused' }, {}],
    });
    expect(await probe({ [CMDLET]: cmdletWith({ VolumeStatus: 3, ProtectionStatus: 0, EncryptionPercentage: 75 }) })).toMatchObject({
      volumes: [{ mount: 'C:', state: 'decrypting', progress: 25 }, {}],
    });
  });

  it('names self-encrypting drives (EncryptionMethod Hardware) apart from BitLocker software encryption', async () => {
    expect(await probe({ [CMDLET]: cmdletWith({ EncryptionMethod: 5 }) })).toMatchObject({ volumes: [{ mount: 'C:', method: 'bitlocker-hardware', state: 'on' }, {}] });
  });

  it.each(['Get-BitLockerVolume-table-encryption-in-progress.txt', 'Get-BitLockerVolume-C-fl-protection-on-de-decimal.txt'])(
    'refuses the culture-formatted %s view instead of reading it',
    async (file) => {
      const view = transcriptOutput(fixture(`windows/${file}`), file.includes('-fl-') ? 'Get-BitLockerVolume -MountPoint C | Format-List' : 'Get-BitLockerVolume');
      expect(parseBitLockerVolumeJson(view)).toBeNull();
      expect(await probe({ [CMDLET]: view })).toEqual(error(`unrecognised Get-BitLockerVolume output: ${view.trim().slice(0, 60)}`));
    },
  );

  it('says "run as Administrator" when an unelevated Get-BitLockerVolume lists nothing', async () => {
    expect(await probe({ [CMDLET]: '[]' }, false)).toEqual(error(NOT_ADMIN));
  });

  it('reads Win32_EncryptableVolume and its methods where the BitLocker module is missing, leaving out removable drives', async () => {
    expect(await probe({ [CMDLET]: noModule, [WMI]: fixture('windows/wmi-Win32_EncryptableVolume-methods-ConvertTo-Json.txt') })).toEqual(ok({ mount: 'C:', ...on, system: true }));
  });

  it('reports the WMI reading of a fully encrypted volume with protection off as suspended (inventory capture)', async () => {
    expect(await probe({ [CMDLET]: noModule, [WMI]: wmiFromInventorySummary() })).toEqual(
      ok({ mount: 'C:', encrypted: true, method: 'bitlocker', state: 'suspended', system: true }),
    );
  });

  it('says BitLocker is missing from the edition when its WMI namespace is', async () => {
    const invalidNamespace = psError('Microsoft.Management.Infrastructure.CimException', 'Invalid namespace ', 0x8004100e - 0x100000000);
    expect(await probe({ [CMDLET]: noModule, [WMI]: invalidNamespace })).toEqual(error(NO_BITLOCKER));
  });

  it("tells WMI errors apart by their code, whatever language the message is in", async () => {
    const german = (message: string, native: string) => psError('Microsoft.Management.Infrastructure.CimException', message, -2146233088, native);
    expect(await probe({ [CMDLET]: noModule, [WMI]: german('Ungültiger Namespace', 'InvalidNamespace') })).toEqual(error(NO_BITLOCKER));
    expect(await probe({ [CMDLET]: german('Zugriff verweigert', 'AccessDenied') }, false)).toEqual(error(NOT_ADMIN));
  });

  describe('when PowerShell cannot run: manage-bde -status, in any language', () => {
    it('reads English text with German number format (Used Space Only Encrypted, 100,0%)', async () => {
      const text = transcriptOutput(fixture('windows/manage-bde-status-C-en-text-de-number-format.txt'), 'manage-bde.exe -status C:');
      expect(await probe({ [MANAGE_BDE]: text })).toEqual(ok({ mount: 'C:', ...on, system: true }));
    });

    it('reads a volume without a drive letter (Azure BEK volume, its block cut short)', async () => {
      const text = transcriptOutput(fixture('windows/manage-bde-status-azure-ade-bek-volume-guid-path.txt'), 'manage-bde -status');
      expect(await probe({ [MANAGE_BDE]: text })).toEqual(ok({ mount: 'C:', ...on, system: true }, { mount: '\\\\?\\Volume{e2af13ec-0000-0000-0000-100000000000}\\', ...off }));
    });

    it('reads German: encryption in progress at 3,5 % with protection still off', async () => {
      const text = transcriptOutput(fixture('windows/manage-bde-status-de-DE-encryption-in-progress-3.5pct.txt'), 'manage-bde.exe -status');
      expect(await probe({ [MANAGE_BDE]: text })).toEqual(ok({ mount: 'C:', encrypted: false, method: 'bitlocker', state: 'encrypting', progress: 3.5, system: true }));
    });

    it('reads German: fully decrypted', async () => {
      const text = transcriptOutput(fixture('windows/manage-bde-status-de-DE-fully-decrypted-protection-off.txt'), 'manage-bde -status');
      expect(await probe({ [MANAGE_BDE]: text })).toEqual(ok({ mount: 'C:', ...off, system: true }));
    });

    it('reads German text that reached us in the console code page, accents mangled', async () => {
      const text = transcriptOutput(fixture('windows/manage-bde-status-de-DE-encryption-in-progress-3.5pct.txt'), 'manage-bde.exe -status').replace(/[äöüÄÖÜß]/g, '\uFFFD');
      expect(await probe({ [MANAGE_BDE]: text })).toMatchObject({ volumes: [{ mount: 'C:', state: 'encrypting', progress: 3.5, system: true }] });
    });

    it('reads the three status lines of an excerpt (Protection Off, Fully Decrypted, 0,0%)', async () => {
      const excerpt = fixture('windows/manage-bde-status-protection-off-fully-decrypted-de-decimal.txt');
      const text = `Volume C: [Windows]\n[OS Volume]\n\n${excerpt.replace(/^/gm, '    ')}`;
      expect(await probe({ [MANAGE_BDE]: text })).toEqual(ok({ mount: 'C:', ...off, system: true }));
    });

    it('reads French and Spanish wording', () => {
      const fr = 'Volume C: [Windows]\n[Volume du système d’exploitation]\n    État de la conversion :       Chiffrement en cours\n    Pourcentage chiffré :         12,5 %\n    État de la protection :       Protection désactivée\n';
      expect(parseManageBdeStatus(fr)).toMatchObject({ volumes: [{ mount: 'C:', conversion: 2, percentEncrypted: 12.5, protection: 0 }] });
      const es = 'Volumen C: [Windows]\n[Volumen del sistema operativo]\n    Estado de conversión:     Descifrado en curso\n    Porcentaje cifrado:       60,0%\n    Estado de protección:     Protección desactivada\n';
      expect(parseManageBdeStatus(es)).toMatchObject({ volumes: [{ mount: 'C:', volumeType: 0, conversion: 3, percentEncrypted: 60, protection: 0 }] });
    });

    it('says "run as Administrator" for the access-denied message, never "not encrypted"', async () => {
      expect(await probe({ [MANAGE_BDE]: { code: -2147217405, stdout: fixture('windows/manage-bde-status-non-admin-access-denied.txt'), stderr: '' } }, false)).toEqual(error(NOT_ADMIN));
    });
  });
});

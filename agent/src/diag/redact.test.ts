import { describe, expect, it } from 'vitest';
import { fixture } from '../../fixtures/load-fixture.js';
import { parseBitLockerVolumeJson } from '../collectors/win32/parse-bitlocker-volume.js';
import { redact, REDACTED } from './redact.js';

describe('redact', () => {
  it('removes a BitLocker recovery password and keeps the JSON readable by the probe', () => {
    const text = fixture('windows/Get-BitLockerVolume-ConvertTo-Json-numeric-enums.txt');
    const { text: clean, count } = redact(text);
    expect(clean).not.toContain('254793-568007');
    expect(count).toBeGreaterThan(0);
    expect(parseBitLockerVolumeJson(clean)).toEqual(parseBitLockerVolumeJson(text));
  });

  it('removes the serial number column of wmic CSV', () => {
    const { text } = redact(fixture('windows/wmic-os-get-csv-server2019.txt'));
    expect(text).not.toContain('00431-20000-00000-AA838');
    expect(text).toContain('Microsoft Windows Server 2019 Datacenter Evaluation');
  });

  it("removes Defender's computer id and text fields naming serials and chip ids", () => {
    expect(redact(fixture('windows/Get-MpComputerStatus-ConvertTo-Json-server2022.txt')).text).toContain(`"ComputerID": "${REDACTED}"`);
    const profiler = 'Hardware Overview:\n      Serial Number (system): C02XK1ABJGH5\n      Hardware UUID: 8F1E0C55-1111-2222-3333-444455556666\nUnique Chip ID                          (ECID): 0x1D68A0000000\n';
    const { text, count } = redact(profiler);
    expect(text).toBe(`Hardware Overview:\n      Serial Number (system): ${REDACTED}\n      Hardware UUID: ${REDACTED}\nUnique Chip ID                          (ECID): ${REDACTED}\n`);
    expect(count).toBe(3);
  });

  it('removes a FileVault recovery key', () => {
    expect(redact('Recovery key: ABCD-EFGH-1234-5678-IJKL-MNOP\n').text).toBe(`Recovery key: ${REDACTED}\n`);
    expect(redact('key ABCD-EFGH-1234-5678-IJKL-MNOP here').text).toBe(`key ${REDACTED} here`);
  });

  it('leaves ordinary probe output alone', () => {
    for (const file of ['macos/fdesetup-status-on.txt', 'linux/ufw-status-verbose-active.txt', 'windows/manage-bde-status-C-en-text-de-number-format.txt', 'macos/mdmclient-QuerySecurityInfo.txt']) {
      const text = fixture(file);
      expect(redact(text)).toEqual({ text, count: 0 });
    }
  });
});

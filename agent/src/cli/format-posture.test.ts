import { describe, expect, it } from 'vitest';
import { windowsLaptop } from '../../fixtures/devices.js';
import { createCollector } from '../collectors/collect.js';
import { recordedProbeContext } from '../collectors/probe.js';
import { summarizePosture } from './format-posture.js';

describe('summarizePosture', () => {
  it('says what each section found, one line each', async () => {
    const posture = await createCollector({ ctx: recordedProbeContext(windowsLaptop()) }).collect();
    expect(summarizePosture(posture)).toEqual([
      'os              Windows 11 Enterprise 10.0.26100.3000 (26100), win32 x64, kernel 10.0.26100',
      'disk encryption C: (system) encrypted (bitlocker); E: not encrypted',
      'firewall        enabled (windows) [Domain off, Private on, Public on]',
      'patches         6 pending (2 security), automatic updates unknown, last installed 2020-09-09 (windows_update)',
      'screen lock     on, after 10 min idle (user at the console)',
      'secure boot     on',
      'antivirus       active: Windows Defender',
    ]);
  });

  it('says how far a conversion got and why a disk counts as unprotected', () => {
    const lines = summarizePosture({
      os: { status: 'error', collected_at: 1, error: 'x' },
      disk_encryption: {
        status: 'ok',
        collected_at: 1,
        volumes: [
          { mount: '/', encrypted: false, method: 'filevault', state: 'encrypting', progress: 35, detail: 'paused', system: true },
          { mount: 'D:', encrypted: true, method: 'bitlocker', state: 'suspended', detail: 'waiting_for_activation' },
          { mount: '/Volumes/X', encrypted: false, method: null, state: 'off', detail: 'hardware_only' },
        ],
      },
      firewall: { status: 'error', collected_at: 1, error: 'x' },
      patches: { status: 'error', collected_at: 1, error: 'x' },
    });
    expect(lines[1]).toBe(
      'disk encryption / (system) encrypting (filevault, 35%, paused); D: suspended (bitlocker, waiting for activation); /Volumes/X not encrypted (hardware encryption only)',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { linuxAntivirus } from './antivirus.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const PS = 'ps -A -o comm=';

function probe(commands: ProbeRecording['commands']) {
  return linuxAntivirus(recordedProbeContext({ commands }));
}

describe('linux antivirus section', () => {
  it('reports ClamAV as active, and up to date while freshclam runs', async () => {
    expect(await probe({ [PS]: 'systemd\nclamd\nfreshclam\nsshd\n' })).toEqual({
      status: 'ok',
      collected_at,
      active: true,
      products: [{ name: 'ClamAV', enabled: true, up_to_date: true }],
    });
    expect(await probe({ [PS]: 'clamd\n' })).toMatchObject({ products: [{ name: 'ClamAV', up_to_date: null }] });
  });

  it('recognises EDR agents by their process (CrowdStrike falcon-sensor)', async () => {
    expect(await probe({ [PS]: 'systemd\nfalcon-sensor\n' })).toMatchObject({ active: true, products: [{ name: 'CrowdStrike Falcon' }] });
  });

  it('reports no known engine as a fact, not an error', async () => {
    expect(await probe({ [PS]: 'systemd\nsshd\nbash\n' })).toEqual({ status: 'ok', collected_at, active: false, products: [] });
  });

  it('reports an error when ps cannot run', async () => {
    expect(await probe({})).toEqual({ status: 'error', collected_at, error: 'ps not found' });
  });
});

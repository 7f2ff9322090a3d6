import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { darwinAntivirus, XPROTECT_INFO_PLISTS, XPROTECT_UNKNOWN } from './antivirus.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const PS = 'ps -A -o comm=';
const xprotect = { [XPROTECT_INFO_PLISTS[0]!]: '<?xml version="1.0"?>\n<plist version="1.0"><dict><key>CFBundleShortVersionString</key><string>5290</string></dict></plist>\n' };
const processes = '/sbin/launchd\n/usr/libexec/logd\n/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder\n';

function probe(commands: ProbeRecording['commands'], files: ProbeRecording['files'] = xprotect) {
  return darwinAntivirus(recordedProbeContext({ platform: 'darwin', commands, files }));
}

describe('macOS antivirus section', () => {
  it('reports XProtect with Gatekeeper assessing apps as active', async () => {
    expect(await probe({ 'spctl --status': fixture('macos/spctl-status-assessments-enabled.txt'), [PS]: processes })).toEqual({
      status: 'ok',
      collected_at,
      active: true,
      products: [
        { name: 'XProtect', enabled: true, up_to_date: null },
        { name: 'Gatekeeper', enabled: true, up_to_date: null },
      ],
    });
  });

  it('reports Gatekeeper switched off as not active, unless a known engine runs', async () => {
    expect(await probe({ 'spctl --status': 'assessments disabled\n', [PS]: processes })).toMatchObject({ active: false });
    const withDefender = await probe({ 'spctl --status': 'assessments disabled\n', [PS]: `${processes}/Library/Application Support/Microsoft/Defender/wdavdaemon\n` });
    expect(withDefender).toMatchObject({ active: true, products: [{ name: 'XProtect' }, { name: 'Gatekeeper', enabled: false }, { name: 'Microsoft Defender', enabled: true, up_to_date: null }] });
  });

  it('reports an error when spctl cannot be read and no engine is known to run', async () => {
    expect(await probe({ [PS]: processes })).toEqual({ status: 'error', collected_at, error: 'spctl not found' });
  });

  it('reports an error rather than "not active" when ps failed', async () => {
    const psFailed = { code: null, stdout: '', stderr: '', failure: 'timeout' as const };
    expect(await probe({ 'spctl --status': 'assessments disabled\n', [PS]: psFailed })).toEqual({
      status: 'error',
      collected_at,
      error: 'cannot tell whether an antivirus engine runs: ps timed out',
    });
    // Active from the built-in protection alone: ps does not matter.
    expect(await probe({ 'spctl --status': 'assessments enabled\n', [PS]: psFailed })).toMatchObject({ status: 'ok', active: true });
  });

  it('treats an unreadable or unparsable XProtect Info.plist as unknown, not as XProtect disabled', async () => {
    const spctl = { 'spctl --status': 'assessments enabled\n', [PS]: processes };
    expect(await probe(spctl, {})).toEqual({ status: 'error', collected_at, error: XPROTECT_UNKNOWN });
    expect(await probe(spctl, { [XPROTECT_INFO_PLISTS[0]!]: 'not a plist' })).toEqual({ status: 'error', collected_at, error: XPROTECT_UNKNOWN });
    // With Gatekeeper off the answer is "not active" whatever XProtect is; it is not listed as disabled.
    expect(await probe({ 'spctl --status': 'assessments disabled\n', [PS]: processes }, {})).toEqual({
      status: 'ok',
      collected_at,
      active: false,
      products: [{ name: 'Gatekeeper', enabled: false, up_to_date: null }],
    });
    // A known engine running makes it active without XProtect.
    expect(await probe({ ...spctl, [PS]: `${processes}/Library/Application Support/Microsoft/Defender/wdavdaemon\n` }, {})).toMatchObject({
      status: 'ok',
      active: true,
      products: [{ name: 'Gatekeeper', enabled: true }, { name: 'Microsoft Defender', enabled: true }],
    });
  });
});

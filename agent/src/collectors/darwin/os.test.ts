import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { darwinOs, SYSCTL_ARGS, SYSTEM_VERSION_PLIST } from './os.js';
import { parseSwVers } from './parse-sw-vers.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const SYSCTL = commandLine('sysctl', SYSCTL_ARGS);
const host = { platform: 'darwin' as const, kernel: '23.6.0', arch: 'x64' };

function probe(commands: ProbeRecording['commands'], files: ProbeRecording['files'] = {}) {
  return darwinOs(recordedProbeContext({ ...host, commands, files }));
}
const macos = (name: string, version: string, build: string | null, extra: object = {}) => ({
  status: 'ok',
  collected_at,
  platform: 'darwin',
  id: 'macos',
  name,
  version,
  build,
  kernel: host.kernel,
  arch: host.arch,
  ...extra,
});

describe('macOS os section', () => {
  it.each([
    ['sw_vers-10.13-two-component-version.txt', macos('Mac OS X', '10.13', '17A405')],
    ['sw_vers-10.15.5-catalina.txt', macos('Mac OS X', '10.15.5', '19F101')],
    ['sw_vers-13.3.1-rsr-a.txt', macos('macOS', '13.3.1', '22E772610a', { version_extra: '(a)' })],
  ])('reads product, version and build from sw_vers (%s)', async (file, section) => {
    expect(await probe({ sw_vers: fixture(`macos/${file}`) })).toEqual(section);
  });

  it('reads ProductVersion, not the ProductVersionExtra line a grep for it also matches', async () => {
    const section = await probe({ sw_vers: fixture('macos/sw_vers-grep-ProductVersion-matches-extra.txt') });
    expect(section).toEqual(macos('macOS', '13.3.1', null, { version_extra: '(a)' }));
  });

  it('takes the Darwin kernel release from sysctl and reports Apple silicon under Rosetta as arm64', async () => {
    const sysctl = ['kern.ostype', 'kern.osrelease', 'kern.osrevision'].map((k) => transcriptOutput(fixture('macos/sysctl-kern-13.3.1.txt'), `sysctl ${k}`)).join('');
    const intel = await probe({ sw_vers: fixture('macos/sw_vers-13.3.1-rsr-a.txt'), [SYSCTL]: { code: 0, stdout: sysctl, stderr: 'sysctl: unknown oid \'hw.optional.arm64\'\n' } });
    expect(intel).toEqual({ ...macos('macOS', '13.3.1', '22E772610a', { version_extra: '(a)' }), kernel: '22.4.0', arch: 'x64' });
    const rosetta = await probe({ sw_vers: fixture('macos/sw_vers-13.3.1-rsr-a.txt'), [SYSCTL]: `${sysctl}hw.optional.arm64: 1\n` });
    expect(rosetta).toEqual({ ...macos('macOS', '13.3.1', '22E772610a', { version_extra: '(a)' }), kernel: '22.4.0', arch: 'arm64' });
  });

  it('falls back to SystemVersion.plist when sw_vers fails', async () => {
    const plist = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>ProductBuildVersion</key><string>23G93</string>
  <key>ProductName</key><string>macOS</string>
  <key>ProductVersion</key><string>14.6.1</string>
</dict></plist>`;
    const section = await probe({ sw_vers: { code: 1, stdout: '', stderr: 'sw_vers: boom\n' } }, { [SYSTEM_VERSION_PLIST]: plist });
    expect(section).toEqual(macos('macOS', '14.6.1', '23G93'));
  });

  it('reports an error when neither sw_vers nor SystemVersion.plist answers', async () => {
    expect(await probe({})).toEqual({ status: 'error', collected_at, error: 'sw_vers not found' });
  });

  it('refuses output without a numeric ProductVersion', () => {
    expect(parseSwVers('ProductName:\tmacOS\nProductVersion:\t(a)\n')).toBeNull();
  });
});

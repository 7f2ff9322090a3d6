import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { MDMCLIENT } from './filevault.js';
import { ALF_PLIST, darwinFirewall, SOCKETFILTERFW } from './firewall.js';
import { parseAlfGlobalState } from './parse-socketfilterfw.js';
import { plutilArgs } from './read-plist.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const GLOBALSTATE = commandLine(SOCKETFILTERFW, ['--getglobalstate']);
const ALF = commandLine('plutil', plutilArgs(ALF_PLIST));
const MDM = commandLine(MDMCLIENT, ['QuerySecurityInfo']);
const broken = { code: 1, stdout: '', stderr: 'socketfilterfw: unexpected failure\n' };

function probe(commands: ProbeRecording['commands'], isPrivileged = false) {
  return darwinFirewall(recordedProbeContext({ platform: 'darwin', isPrivileged, commands }));
}
const alf = (enabled: boolean) => ({ status: 'ok', collected_at, enabled, backend: 'alf', profiles: [] });

describe('macOS firewall section', () => {
  it.each([
    ['socketfilterfw-getglobalstate-disabled-state0.txt', false],
    ['socketfilterfw-getglobalstate-enabled-state1.txt', true],
    ['socketfilterfw-getglobalstate-blockall-state2-old-wording.txt', true],
    ['socketfilterfw-multi-flags-state2-old-wording.txt', true],
  ])('reads the state number of socketfilterfw --getglobalstate (%s)', async (file, enabled) => {
    expect(await probe({ [GLOBALSTATE]: fixture(`macos/${file}`) })).toEqual(alf(enabled));
  });

  it('counts block-all as on in the newer wording, which lacks the word "enabled"', async () => {
    const newer = 'Firewall is blocking all non-essential incoming connections. (State = 2)\n';
    expect(await probe({ [GLOBALSTATE]: newer })).toEqual(alf(true));
    expect(parseAlfGlobalState(fixture('macos/socketfilterfw-setblockall-on.txt'))).toBe(2);
  });

  it("does not read an app list's per-app state as the firewall's state", () => {
    expect(parseAlfGlobalState(fixture('macos/socketfilterfw-listapps.txt'))).toBeNull();
  });

  it('falls back to the alf preference file before macOS 15', async () => {
    const section = await probe({ [GLOBALSTATE]: broken, 'sw_vers -productVersion': '14.6.1\n', [ALF]: fixture('macos/com.apple.alf.plist-pre-macos15.txt') });
    expect(section).toEqual(alf(false));
  });

  it('does not trust the alf preference file on macOS 15, which no longer keeps it current', async () => {
    const section = await probe({ [GLOBALSTATE]: broken, 'sw_vers -productVersion': '15.1\n', [ALF]: fixture('macos/com.apple.alf.plist-pre-macos15.txt') });
    expect(section).toEqual({ status: 'error', collected_at, error: 'socketfilterfw exited with code 1: socketfilterfw: unexpected failure' });
  });

  it("falls back to mdmclient's firewall flags as root", async () => {
    expect(await probe({ [GLOBALSTATE]: broken, [MDM]: fixture('macos/mdmclient-QuerySecurityInfo.txt') }, true)).toEqual(alf(true));
  });

  it('reports an error rather than "off" for output it does not recognise', async () => {
    expect(await probe({ [GLOBALSTATE]: 'Firewall is in a mood\n' })).toEqual({ status: 'error', collected_at, error: 'unrecognised socketfilterfw output: Firewall is in a mood' });
  });
});

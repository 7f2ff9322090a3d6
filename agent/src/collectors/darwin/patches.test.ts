import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { parseSoftwareUpdateList } from './parse-softwareupdate.js';
import { darwinPatches, INSTALL_HISTORY, MANAGED_SOFTWARE_UPDATE_PREFS, SOFTWARE_UPDATE_PREFS } from './patches.js';
import { plutilArgs } from './read-plist.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const LIST = 'softwareupdate --list';
const PREFS = commandLine('plutil', plutilArgs(SOFTWARE_UPDATE_PREFS));
const MANAGED = commandLine('plutil', plutilArgs(MANAGED_SOFTWARE_UPDATE_PREFS));
const HISTORY = commandLine('plutil', plutilArgs(INSTALL_HISTORY));
const prefsPlist = fixture('macos/com.apple.SoftwareUpdate.plist-recommended-updates-monterey.txt');
/** LastSuccessfulDate of that plist: 2022-12-09T14:28:52Z. */
const lastCheck = Date.UTC(2022, 11, 9, 14, 28, 52) / 1000;

/**
 * softwareupdate writes its progress lines and "No new software available." to stderr
 * and the list to stdout; the captures hold both, so they are split the same way here.
 */
function softwareupdate(file: string): RecordedExec {
  const text = fixture(`macos/${file}`);
  const split = text.search(/^(\* Label:|\s+[*-] )/m);
  return split < 0 ? { code: 0, stdout: '', stderr: text } : { code: 0, stdout: text.slice(split), stderr: text.slice(0, split) };
}

function probe(commands: ProbeRecording['commands'], now?: number) {
  return darwinPatches(recordedProbeContext({ platform: 'darwin', commands, ...(now ? { now } : {}) }));
}
const ok = (pending: number, security: number, extra: object = {}) => ({
  status: 'ok',
  collected_at,
  pending,
  pending_security: security,
  pending_security_unit: 'packages',
  last_installed_at: null,
  auto_updates: null,
  source: 'softwareupdate',
  ...extra,
});

describe('macOS patches section', () => {
  it.each([
    ['softwareupdate-l-no-updates.txt', ok(0, 0)],
    ['softwareupdate-l-no-scan-no-updates.txt', ok(0, 0)],
    ['softwareupdate-l-one-update.txt', ok(1, 1)],
    // A beta is offered on a machine enrolled in the beta program: pending, but not a security release.
    ['softwareupdate-l-beta.txt', ok(1, 0)],
    // Command Line Tools (no), macOS 10.14.1 (restart), BridgeOS (shut down), iCal (not recommended, no).
    ['softwareupdate-l-mojave-old-format.txt', ok(4, 2)],
    // The title is translated ("更新"); the label is not.
    ['softwareupdate-list-elcapitan-localized-title.txt', ok(1, 1)],
  ])('counts pending and security updates from softwareupdate --list (%s)', async (file, section) => {
    expect(await probe({ [LIST]: softwareupdate(file) })).toEqual(section);
  });

  it('does not count a major macOS upgrade as a pending security update of the running OS', async () => {
    const sonoma = 'ProductName:\tmacOS\nProductVersion:\t14.7.3\nBuildVersion:\t23H417\n';
    const section = await probe({ [LIST]: softwareupdate('softwareupdate-l-major-upgrade-sequoia-on-sonoma-constructed.txt'), sw_vers: sonoma });
    // Both are offered (pending 2); only Sonoma 14.7.4 fixes the running OS.
    expect(section).toEqual(ok(2, 1));
  });

  it('counts the same release line as a security update once the Mac runs it', async () => {
    const sequoia = 'ProductName:\tmacOS\nProductVersion:\t15.3\nBuildVersion:\t24D60\n';
    const section = await probe({ [LIST]: softwareupdate('softwareupdate-l-major-upgrade-sequoia-on-sonoma-constructed.txt'), sw_vers: sequoia });
    // On Sequoia the 15.3.1 update is a security update; the older Sonoma line is not offered to it in practice, and is not newer.
    expect(section).toEqual(ok(2, 1));
  });

  it("reports the last background check's list, with its date, when the scan fails", async () => {
    const section = await probe({ [LIST]: softwareupdate('softwareupdate-l-network-error.txt'), [PREFS]: prefsPlist }, (lastCheck + 3600) * 1000);
    // macOS 12.6.1 and Safari are security releases; the two Command Line Tools updates are not.
    expect(section).toEqual({ ...ok(4, 2, { checked_at: lastCheck }), collected_at: lastCheck + 3600 });
  });

  it('reports an error when the scan fails and the cached list is weeks old', async () => {
    const section = await probe({ [LIST]: softwareupdate('softwareupdate-l-network-error.txt'), [PREFS]: prefsPlist });
    expect(section).toEqual({
      status: 'error',
      collected_at,
      error: 'softwareupdate could not check for updates: The network connection was lost.; the last successful check was on 2022-12-09: connect to the internet',
    });
  });

  it('reads automatic installation from a managed profile first, and the last Software Update install from the install history', async () => {
    const plist = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">${body}</plist>\n`;
    const history = plist(`<array>
<dict><key>date</key><date>2024-05-01T10:00:00Z</date><key>displayName</key><string>macOS Sonoma 14.5</string><key>processName</key><string>softwareupdated</string></dict>
<dict><key>date</key><date>2024-06-01T10:00:00Z</date><key>displayName</key><string>XProtectPlistConfigData</string><key>processName</key><string>softwareupdated</string><key>contentType</key><string>config-data</string></dict>
<dict><key>date</key><date>2024-07-01T10:00:00Z</date><key>displayName</key><string>Some App</string><key>processName</key><string>installer</string></dict>
</array>`);
    const section = await probe({
      [LIST]: softwareupdate('softwareupdate-l-no-updates.txt'),
      [PREFS]: plist('<dict><key>AutomaticallyInstallMacOSUpdates</key><true/></dict>'),
      [MANAGED]: plist('<dict><key>AutomaticallyInstallMacOSUpdates</key><false/></dict>'),
      [HISTORY]: history,
    });
    expect(section).toEqual(ok(0, 0, { last_installed_at: Date.UTC(2024, 4, 1, 10) / 1000, auto_updates: false }));
  });

  it('reports an error when softwareupdate times out and nothing is cached', async () => {
    expect(await probe({ [LIST]: { code: null, stdout: '', stderr: '', failure: 'timeout' } })).toEqual({
      status: 'error',
      collected_at,
      error: 'softwareupdate --list timed out',
    });
  });

  it('refuses output it does not recognise rather than reading it as "no updates"', () => {
    expect(parseSoftwareUpdateList('Software Update Tool\n\nSomething else happened\n')).toBeNull();
  });
});

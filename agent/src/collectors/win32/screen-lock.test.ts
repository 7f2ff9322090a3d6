import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { powershellLine } from './powershell.js';
import { CONSOLE_USER_SID_SCRIPT, MACHINE_POLICY_KEY, NO_CONSOLE_USER, userDesktopKey, userPolicyKey, windowsScreenLock } from './screen-lock.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const SID = 'S-1-5-21-1004336348-1177238915-682003330-1001';
const CONSOLE_SID = powershellLine(CONSOLE_USER_SID_SCRIPT);
const query = (key: string) => commandLine('reg', ['query', key]);
/** The group-policy capture, under the console user's hive (the author trimmed the key line). */
const gpoScreenSaver = fixture('windows/reg-query-HKCU-Policies-Control-Panel-Desktop-screensaver-gpo.txt');

/** What reg says for a key that does not exist. */
const MISSING_KEY = { code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n' };

/** Every key the probe reads is missing unless the test records it. */
function probe(commands: ProbeRecording['commands']) {
  const missing = { [query(MACHINE_POLICY_KEY)]: MISSING_KEY, [query(userPolicyKey(SID))]: MISSING_KEY, [query(userDesktopKey(SID))]: MISSING_KEY };
  return windowsScreenLock(recordedProbeContext({ platform: 'win32', commands: { ...missing, ...commands } }));
}

describe('Windows screen lock section', () => {
  it("reads the console user's password-protected screen saver set by group policy (600 s)", async () => {
    expect(await probe({ [CONSOLE_SID]: `${SID}\r\n`, [query(userPolicyKey(SID))]: gpoScreenSaver })).toEqual({
      status: 'ok',
      collected_at,
      enabled: true,
      idle_minutes: 10,
      scope: 'console_user',
    });
  });

  it("lets policy override the user's own values one by one", async () => {
    const userChoice = '\r\nHKEY_USERS\\x\\Control Panel\\Desktop\r\n    ScreenSaveActive    REG_SZ    1\r\n    ScreenSaverIsSecure    REG_SZ    0\r\n    ScreenSaveTimeOut    REG_SZ    300\r\n    SCRNSAVE.EXE    REG_SZ    C:\\Windows\\system32\\Bubbles.scr\r\n';
    expect(await probe({ [CONSOLE_SID]: SID, [query(userDesktopKey(SID))]: userChoice })).toMatchObject({ enabled: false, idle_minutes: null });
    const policySecure = '    ScreenSaverIsSecure    REG_SZ    1\r\n';
    expect(await probe({ [CONSOLE_SID]: SID, [query(userDesktopKey(SID))]: userChoice, [query(userPolicyKey(SID))]: policySecure })).toMatchObject({ enabled: true, idle_minutes: 5 });
  });

  it('reports the machine inactivity limit when it is sooner, and when nobody is signed in', async () => {
    const machine = '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\r\n    InactivityTimeoutSecs    REG_DWORD    0x384\r\n';
    expect(await probe({ [CONSOLE_SID]: SID, [query(userPolicyKey(SID))]: gpoScreenSaver, [query(MACHINE_POLICY_KEY)]: machine })).toMatchObject({ idle_minutes: 10, scope: 'console_user' });
    const sooner = machine.replace('0x384', '0x12c');
    expect(await probe({ [CONSOLE_SID]: SID, [query(userPolicyKey(SID))]: gpoScreenSaver, [query(MACHINE_POLICY_KEY)]: sooner })).toMatchObject({ idle_minutes: 5, scope: 'machine' });
    expect(await probe({ [CONSOLE_SID]: '', [query(MACHINE_POLICY_KEY)]: sooner })).toEqual({ status: 'ok', collected_at, enabled: true, idle_minutes: 5, scope: 'machine' });
  });

  it('says nobody is signed in rather than reading the SYSTEM account\'s .DEFAULT settings', async () => {
    expect(await probe({ [CONSOLE_SID]: '' })).toEqual({ status: 'error', collected_at, error: NO_CONSOLE_USER });
  });

  it('reports a registry read that failed as unknown, never as "screen lock off"', async () => {
    const denied = { code: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' };
    expect(await probe({ [CONSOLE_SID]: SID, [query(userDesktopKey(SID))]: denied })).toEqual({
      status: 'error',
      collected_at,
      error: "permission denied: run the agent as Administrator (the installed service runs as SYSTEM) to read the console user's screen saver settings",
    });
    const timedOut = { code: null, stdout: '', stderr: '', failure: 'timeout' as const };
    expect(await probe({ [CONSOLE_SID]: SID, [query(userPolicyKey(SID))]: timedOut })).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^cannot read the console user's screen saver policy: reg timed out; screen lock is unknown/),
    });
    const odd = { code: 1, stdout: '', stderr: 'ERROR: Invalid key name.\r\n' };
    expect(await probe({ [CONSOLE_SID]: '', [query(MACHINE_POLICY_KEY)]: odd })).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^cannot read the machine inactivity limit: reg exited with code 1: ERROR: Invalid key name\./),
    });
    // reg itself missing: no key was read at all.
    expect(await windowsScreenLock(recordedProbeContext({ platform: 'win32', commands: { [CONSOLE_SID]: SID } }))).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/reg not found/),
    });
  });
});

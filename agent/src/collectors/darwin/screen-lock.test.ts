import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { nsLogMessages, parseScreenLockStatus } from './parse-sysadminctl.js';
import { asConsoleUser, CONSOLE_OWNER_ARGS, darwinScreenLock, NO_CONSOLE_USER, SCREEN_LOCK_STATUS, SCREENSAVER_IDLE_TIME } from './screen-lock.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const CONSOLE = commandLine('stat', CONSOLE_OWNER_ARGS);
const alice = { uid: 501, name: 'alice' };
const asAlice = ([command, args]: [string, string[]]) => commandLine(...asConsoleUser(alice, command, args));
/** sysadminctl answers through NSLog, on stderr, with a timestamp and process prefix. */
const nsLog = (message: string): RecordedExec => ({ code: 0, stdout: '', stderr: `2026-01-01 09:00:00.123 sysadminctl[812:4711] ${message}\n` });

function probe(commands: ProbeRecording['commands'], isPrivileged = true) {
  return darwinScreenLock(recordedProbeContext({ platform: 'darwin', isPrivileged, commands }));
}

describe('macOS screen lock section', () => {
  it("reads the console user's screen lock in their session as a root daemon", async () => {
    const section = await probe({
      [CONSOLE]: '501 alice\n',
      [asAlice(SCREEN_LOCK_STATUS)]: nsLog(fixture('macos/sysadminctl-screenLock-status-immediate.txt').trim()),
      [asAlice(SCREENSAVER_IDLE_TIME)]: '300\n',
    });
    expect(section).toEqual({ status: 'ok', collected_at, enabled: true, idle_minutes: 5, scope: 'console_user' });
  });

  it('adds the lock delay to the screensaver idle time', async () => {
    const section = await probe({ [CONSOLE]: '501 alice\n', [asAlice(SCREEN_LOCK_STATUS)]: nsLog('screenLock delay is 60 seconds'), [asAlice(SCREENSAVER_IDLE_TIME)]: '1200\n' });
    expect(section).toMatchObject({ enabled: true, idle_minutes: 21 });
  });

  it.each(['screenLock is off', 'screenLock delay is -1(.000000) seconds'])('reports "%s" as no screen lock', async (message) => {
    const section = await probe({ [CONSOLE]: '501 alice\n', [asAlice(SCREEN_LOCK_STATUS)]: nsLog(message), [asAlice(SCREENSAVER_IDLE_TIME)]: '300\n' });
    expect(section).toEqual({ status: 'ok', collected_at, enabled: false, idle_minutes: null, scope: 'console_user' });
  });

  it('says nobody is logged in while the login window shows (root owns the console)', async () => {
    expect(await probe({ [CONSOLE]: '0 root\n' })).toEqual({ status: 'error', collected_at, error: NO_CONSOLE_USER });
  });

  it('reads the screen lock directly when the agent runs as the console user, and refuses another user', async () => {
    const own = await probe({ [CONSOLE]: '501 alice\n', 'id -u': '501\n', 'sysadminctl -screenLock status': nsLog('screenLock delay is immediate') }, false);
    expect(own).toMatchObject({ status: 'ok', enabled: true, idle_minutes: null });
    const other = await probe({ [CONSOLE]: '501 alice\n', 'id -u': '502\n' }, false);
    expect(other).toEqual({ status: 'error', collected_at, error: 'permission denied: run the agent as root (or as alice, the user at the console) to read the screen lock' });
  });

  it('does not read other sysadminctl answers (auto-login, guest account) as a screen lock', async () => {
    expect(parseScreenLockStatus(fixture('macos/sysadminctl-autologin-status-filevault.txt'))).toBeNull();
    const section = await probe({ [CONSOLE]: '501 alice\n', [asAlice(SCREEN_LOCK_STATUS)]: nsLog('Guest account disabled.') });
    expect(section).toEqual({ status: 'error', collected_at, error: 'unrecognised sysadminctl -screenLock output: 2026-01-01 09:00:00.123 sysadminctl[812:4711] Guest account disabled.' });
  });
});

describe('nsLogMessages', () => {
  it('strips the timestamp and process prefix of every NSLog line', () => {
    const transcript = fixture('macos/sysadminctl-NSLog-prefix-format-guestAccount.txt');
    const lines = [transcriptOutput(transcript, 'sysadminctl -guestAccount status'), transcriptOutput(transcript, 'sudo sysadminctl -guestAccount off')].join('');
    expect(nsLogMessages(lines)).toEqual(['Guest account disabled.', 'Guest account is already disabled']);
  });
});

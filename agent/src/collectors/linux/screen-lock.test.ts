import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { gsettingsCommand, linuxScreenLock, NO_CONSOLE_USER, SCREENSAVER_SCHEMA, SESSION_SCHEMA } from './screen-lock.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const SEAT = 'loginctl show-seat seat0 --property=ActiveSession';
const SESSION = 'loginctl show-session 2 --property=Name --property=User --property=Type';
const alice = { name: 'alice', uid: 1000, home: '/home/alice' };
const asAlice = (schema: string) => commandLine(...gsettingsCommand(alice, schema));
/** The kolide capture holds both schemas; gsettings prints one per call. */
const settings = fixture('linux/gsettings-list-recursively-screensaver-session.txt');
const schemaLines = (schema: string) => `${settings.split('\n').filter((l) => l.startsWith(`${schema} `)).join('\n')}\n`;
const aliceAtTheScreen = {
  [SEAT]: 'ActiveSession=2\n',
  [SESSION]: 'Name=alice\nUser=1000\nType=wayland\n',
  'getent passwd 1000': 'alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n',
};

function probe(commands: ProbeRecording['commands'], isPrivileged = true) {
  return linuxScreenLock(recordedProbeContext({ isPrivileged, commands }));
}
const error = (reason: string) => ({ status: 'error', collected_at, error: reason });

describe('linux screen lock section (GNOME)', () => {
  it("reads the screen-lock settings of the user at the screen, as that user, with their HOME", async () => {
    const section = await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: schemaLines(SCREENSAVER_SCHEMA), [asAlice(SESSION_SCHEMA)]: schemaLines(SESSION_SCHEMA) });
    expect(section).toEqual({ status: 'ok', collected_at, enabled: true, idle_minutes: 5, scope: 'console_user' });
    expect(asAlice(SESSION_SCHEMA)).toBe(
      'runuser -u alice -- env HOME=/home/alice XDG_RUNTIME_DIR=/run/user/1000 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus gsettings list-recursively org.gnome.desktop.session',
    );
  });

  it('reports no screen lock when the lock is off or the session never goes idle', async () => {
    const lockOff = schemaLines(SCREENSAVER_SCHEMA).replace('lock-enabled true', 'lock-enabled false');
    expect(await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: lockOff, [asAlice(SESSION_SCHEMA)]: schemaLines(SESSION_SCHEMA) })).toMatchObject({ enabled: false, idle_minutes: null });
    const neverIdle = schemaLines(SESSION_SCHEMA).replace('idle-delay uint32 300', 'idle-delay uint32 0');
    expect(await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: schemaLines(SCREENSAVER_SCHEMA), [asAlice(SESSION_SCHEMA)]: neverIdle })).toMatchObject({ enabled: false });
  });

  it('says nobody is at the screen when seat0 has no active session', async () => {
    expect(await probe({ [SEAT]: 'ActiveSession=\n' })).toEqual(error(NO_CONSOLE_USER));
  });

  it('says why it cannot tell who is at the screen when logind is not running (this development VM)', async () => {
    const noSystemd: RecordedExec = { code: 1, stdout: '', stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n" };
    expect(await probe({ [SEAT]: noSystemd })).toEqual(
      error("cannot tell who is logged in at the screen: loginctl exited with code 1: System has not been booted with systemd as init system (PID 1). Can't operate."),
    );
  });

  it('says only GNOME is read on other desktops', async () => {
    const noSchema: RecordedExec = { code: 1, stdout: '', stderr: 'No such schema “org.gnome.desktop.screensaver”\n' };
    expect(await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: noSchema, [asAlice(SESSION_SCHEMA)]: noSchema })).toEqual(
      error("no GNOME settings in alice's session: only the GNOME desktop's screen lock can be read"),
    );
  });

  it("needs root, or to be that user, to read another user's settings", async () => {
    expect(await probe({ ...aliceAtTheScreen, 'id -u': '1001\n' }, false)).toEqual(
      error('permission denied: run the agent as root (or as alice, the user at the screen) to read the screen lock'),
    );
    const own = await probe({ ...aliceAtTheScreen, 'id -u': '1000\n', [commandLine(...gsettingsCommand(null, SCREENSAVER_SCHEMA))]: schemaLines(SCREENSAVER_SCHEMA), [commandLine(...gsettingsCommand(null, SESSION_SCHEMA))]: schemaLines(SESSION_SCHEMA) }, false);
    expect(own).toMatchObject({ status: 'ok', enabled: true, idle_minutes: 5 });
  });

  it('names runuser, not gsettings, when the service sandbox does not let it switch to the user at the screen', async () => {
    const blocked = { code: 1, stdout: '', stderr: 'runuser: cannot set groups: Operation not permitted\n' };
    expect(await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: blocked, [asAlice(SESSION_SCHEMA)]: blocked })).toEqual(
      error(
        "runuser could not switch to alice (runuser: cannot set groups: Operation not permitted): the agent's service sandbox does not allow switching to the console user; screen lock is unknown",
      ),
    );
    const otherFailure = { code: 1, stdout: '', stderr: 'runuser: user alice does not exist or the user entry does not contain all the required fields\n' };
    expect(await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: otherFailure, [asAlice(SESSION_SCHEMA)]: otherFailure })).toEqual(
      error('runuser could not switch to alice (runuser: user alice does not exist or the user entry does not contain all the required fields): screen lock is unknown'),
    );
    expect(await probe(aliceAtTheScreen)).toEqual(error("runuser not found: cannot read alice's screen lock as that user; screen lock is unknown"));
  });

  it('still blames gsettings when runuser ran it and gsettings failed', async () => {
    const failed = { code: 1, stdout: '', stderr: 'error: Cannot autolaunch D-Bus without X11 $DISPLAY\n' };
    expect(await probe({ ...aliceAtTheScreen, [asAlice(SCREENSAVER_SCHEMA)]: failed, [asAlice(SESSION_SCHEMA)]: failed })).toEqual(
      error('gsettings exited with code 1: error: Cannot autolaunch D-Bus without X11 $DISPLAY'),
    );
  });
});

import type { ScreenLockSection } from '@postern/shared';
import type { ExecResult, ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, firstLine, isPermissionDenied, okSection, succeeded } from '../section.js';
import { gnomeScreenLock, parseGsettingsList } from './parse-gsettings.js';
import { parseLoginctlProperties, parsePasswdEntry, type PasswdEntry } from './parse-loginctl.js';

export const SCREENSAVER_SCHEMA = 'org.gnome.desktop.screensaver';
export const SESSION_SCHEMA = 'org.gnome.desktop.session';
/** A name `runuser -u` is given: what useradd allows, never something that looks like an option. */
const SAFE_USER = /^[a-z_][a-z0-9_.-]*\$?$/i;

export const NO_CONSOLE_USER = 'no user is logged in on the local screen (seat0): screen lock is a setting of a desktop session';

/**
 * Screen lock of the user at the local screen (seat0). Screen lock is a per-user
 * setting: an agent running as root reads it as that user (`runuser`), with the
 * user's own dconf database; an agent running as that user reads its own. Only
 * GNOME's settings are read.
 */
export async function linuxScreenLock(ctx: ProbeContext): Promise<ScreenLockSection> {
  const user = await consoleUser(ctx);
  if (typeof user === 'string') return errorSection(ctx, user);
  const runAs = ctx.isPrivileged ? user : null;
  if (!ctx.isPrivileged) {
    const me = await ctx.exec('id', ['-u']);
    if (!succeeded(me) || Number(me.stdout.trim()) !== user.uid) {
      return errorSection(ctx, `permission denied: run the agent as root (or as ${user.name}, the user at the screen) to read the screen lock`);
    }
  }
  const [screensaver, session] = await Promise.all(
    [SCREENSAVER_SCHEMA, SESSION_SCHEMA].map((schema) => {
      const [command, args] = gsettingsCommand(runAs, schema);
      return ctx.exec(command, args);
    }),
  );
  for (const r of [screensaver!, session!]) {
    if (runAs) {
      const switchFailed = runuserFailure(runAs, r);
      if (switchFailed) return errorSection(ctx, switchFailed);
    }
    if (r.failure === 'not_found') return errorSection(ctx, 'gsettings not found: only the GNOME desktop\'s screen lock can be read');
    if (/No such schema/i.test(r.stderr)) return errorSection(ctx, `no GNOME settings in ${user.name}'s session: only the GNOME desktop's screen lock can be read`);
    if (!succeeded(r)) return errorSection(ctx, execFailureReason('gsettings', r));
  }
  const lock = gnomeScreenLock(parseGsettingsList(`${screensaver!.stdout}\n${session!.stdout}`));
  if (!lock) return errorSection(ctx, 'unrecognised gsettings output: lock-enabled or idle-delay missing');
  return okSection(ctx, { enabled: lock.enabled, idle_minutes: lock.idleMinutes, scope: 'console_user' as const });
}

/**
 * The command that runs gsettings as `user` (null: as the agent itself). Reading needs
 * the user's HOME (dconf's database lives there); the bus and runtime directory are
 * given too so that nothing falls back to root's.
 */
export function gsettingsCommand(user: PasswdEntry | null, schema: string): [string, string[]] {
  const gsettings = ['gsettings', 'list-recursively', schema];
  if (!user) return [gsettings[0]!, gsettings.slice(1)];
  const runtime = `/run/user/${user.uid}`;
  return [
    'runuser',
    ['-u', user.name, '--', 'env', `HOME=${user.home}`, `XDG_RUNTIME_DIR=${runtime}`, `DBUS_SESSION_BUS_ADDRESS=unix:path=${runtime}/bus`, ...gsettings],
  ];
}

/**
 * Why `runuser` itself failed (it prefixes its own messages with "runuser:"), or null
 * when it ran gsettings. Under a sandbox (systemd NoNewPrivileges, a dropped
 * CAP_SETGID) it cannot switch users: "runuser: cannot set groups: Operation not permitted".
 */
function runuserFailure(user: PasswdEntry, r: ExecResult): string | null {
  if (r.failure === 'not_found') return `runuser not found: cannot read ${user.name}'s screen lock as that user; screen lock is unknown`;
  const said = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('runuser:'));
  if (!said) return null;
  if (isPermissionDenied(r)) {
    return `runuser could not switch to ${user.name} (${said}): the agent's service sandbox does not allow switching to the console user; screen lock is unknown`;
  }
  return `runuser could not switch to ${user.name} (${said}): screen lock is unknown`;
}

/** The user of the active session on seat0, or why there is none. */
async function consoleUser(ctx: ProbeContext): Promise<PasswdEntry | string> {
  const seat = await ctx.exec('loginctl', ['show-seat', 'seat0', '--property=ActiveSession']);
  if (seat.failure === 'not_found') return 'loginctl not found: cannot tell who is logged in at the screen (systemd-logind is needed)';
  if (!succeeded(seat)) {
    const detail = firstLine(seat.stderr);
    // No seat0 at all (server, container): nobody can be at the screen.
    if (/seat0|no such|not found/i.test(detail)) return NO_CONSOLE_USER;
    return `cannot tell who is logged in at the screen: ${execFailureReason('loginctl', seat)}`;
  }
  const sessionId = parseLoginctlProperties(seat.stdout).ActiveSession ?? '';
  if (!sessionId) return NO_CONSOLE_USER;
  if (!/^[A-Za-z0-9_-]+$/.test(sessionId)) return `unrecognised loginctl session id "${sessionId.slice(0, 40)}"`;
  const session = await ctx.exec('loginctl', ['show-session', sessionId, '--property=Name', '--property=User', '--property=Type']);
  if (!succeeded(session)) return `cannot read the console session: ${execFailureReason('loginctl', session)}`;
  const p = parseLoginctlProperties(session.stdout);
  if (p.Type === 'tty') return `the console session of ${p.Name ?? 'its user'} is a text terminal, which has no screen lock`;
  const uid = Number(p.User);
  if (!Number.isInteger(uid) || !p.Name || !SAFE_USER.test(p.Name)) return 'unrecognised loginctl session properties';
  const passwd = await ctx.exec('getent', ['passwd', String(uid)]);
  const entry = succeeded(passwd) ? parsePasswdEntry(passwd.stdout) : null;
  if (!entry || entry.uid !== uid || !SAFE_USER.test(entry.name)) return `cannot find the home directory of ${p.Name} (getent passwd ${uid})`;
  return entry;
}

import type { ScreenLockSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { plistDict } from './parse-plist.js';
import { parseScreenLockStatus } from './parse-sysadminctl.js';
import { readPlistFile } from './read-plist.js';

export const CONSOLE_OWNER_ARGS = ['-f', '%u %Su', '/dev/console'];
export const SCREEN_LOCK_STATUS: [string, string[]] = ['sysadminctl', ['-screenLock', 'status']];
export const SCREENSAVER_IDLE_TIME: [string, string[]] = ['defaults', ['-currentHost', 'read', 'com.apple.screensaver', 'idleTime']];
export const NO_CONSOLE_USER = 'no user is logged in at the console (the login window is showing): screen lock is a per-user setting';
const SAFE_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export interface ConsoleUser {
  uid: number;
  name: string;
}

/**
 * Screen lock of the user at the console. A root daemon asks as that user
 * (`launchctl asuser UID sudo -u NAME …`): `sysadminctl -screenLock status` for the
 * password after sleep or screensaver, and the screensaver's idle time (a managed
 * profile's first). `idle_minutes` is the screensaver's idle time plus the lock delay:
 * the display may sleep, and lock, sooner, so it is an upper bound.
 */
export async function darwinScreenLock(ctx: ProbeContext): Promise<ScreenLockSection> {
  const owner = await ctx.exec('stat', CONSOLE_OWNER_ARGS);
  if (!succeeded(owner)) return errorSection(ctx, `cannot tell who is logged in at the console: ${execFailureReason('stat', owner)}`);
  const m = /^(\d+) (\S+)\s*$/.exec(owner.stdout.trim());
  if (!m) return errorSection(ctx, 'unrecognised owner of /dev/console');
  const user: ConsoleUser = { uid: Number(m[1]), name: m[2]! };
  if (user.uid === 0 || user.name === 'root') return errorSection(ctx, NO_CONSOLE_USER);
  if (!SAFE_USER.test(user.name)) return errorSection(ctx, 'unrecognised name of the console user');
  if (!ctx.isPrivileged) {
    const me = await ctx.exec('id', ['-u']);
    if (!succeeded(me) || Number(me.stdout.trim()) !== user.uid) {
      return errorSection(ctx, `permission denied: run the agent as root (or as ${user.name}, the user at the console) to read the screen lock`);
    }
  }
  const asUser = ([command, args]: [string, string[]]) => {
    const [c, a] = ctx.isPrivileged ? asConsoleUser(user, command, args) : [command, args];
    return ctx.exec(c, a);
  };
  const [status, idle, managed] = await Promise.all([
    asUser(SCREEN_LOCK_STATUS),
    asUser(SCREENSAVER_IDLE_TIME),
    readPlistFile(ctx, `/Library/Managed Preferences/${user.name}/com.apple.screensaver.plist`),
  ]);
  if (status.failure) return errorSection(ctx, execFailureReason('sysadminctl', status));
  // sysadminctl answers on stderr.
  const lock = parseScreenLockStatus(`${status.stderr}\n${status.stdout}`);
  if (!lock) return errorSection(ctx, `unrecognised sysadminctl -screenLock output: ${(status.stderr || status.stdout).trim().slice(0, 80)}`);
  const managedIdle = plistDict(managed)?.idleTime;
  const idleSeconds = typeof managedIdle === 'number' ? managedIdle : succeeded(idle) && /^\d+$/.test(idle.stdout.trim()) ? Number(idle.stdout.trim()) : null;
  const idle_minutes =
    lock.enabled && idleSeconds !== null && idleSeconds > 0 ? Math.round(((idleSeconds + (lock.delaySeconds ?? 0)) / 60) * 100) / 100 : null;
  return okSection(ctx, { enabled: lock.enabled, idle_minutes, scope: 'console_user' as const });
}

/** The command that runs `command` in the console user's login session, from root. */
export function asConsoleUser(user: ConsoleUser, command: string, args: string[]): [string, string[]] {
  return ['launchctl', ['asuser', String(user.uid), 'sudo', '-u', user.name, command, ...args]];
}

import type { ScreenLockSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, isPermissionDenied, needsPrivilege, okSection, succeeded } from '../section.js';
import { parseRegQuery, type RegValue } from './parse-reg-query.js';
import { powershellErrorReason, runPowerShell } from './powershell.js';

/** The SID of the user signed in at the console; nothing when nobody is. */
export const CONSOLE_USER_SID_SCRIPT =
  '$u = (Get-CimInstance -ClassName Win32_ComputerSystem).UserName; ' +
  'if ($u) { ([System.Security.Principal.NTAccount]$u).Translate([System.Security.Principal.SecurityIdentifier]).Value }';
export const MACHINE_POLICY_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System';
export const userPolicyKey = (sid: string) => `HKU\\${sid}\\Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop`;
export const userDesktopKey = (sid: string) => `HKU\\${sid}\\Control Panel\\Desktop`;
export const NO_CONSOLE_USER = 'no user is signed in at the console and no machine inactivity limit is set: screen lock is a per-user setting';

/**
 * When Windows locks an idle session:
 * - machine-wide, the "Interactive logon: Machine inactivity limit" policy
 *   (InactivityTimeoutSecs) locks every session;
 * - per user, a password-protected screen saver: ScreenSaveActive, ScreenSaverIsSecure,
 *   ScreenSaveTimeOut and SCRNSAVE.EXE, where group policy (…\Policies\…) overrides the
 *   user's own choice value by value.
 * The user's values live in their hive; a service running as SYSTEM would read
 * .DEFAULT under HKCU, so the console user's SID is looked up and HKU\<SID> read.
 * The sooner of the two limits is reported, with the scope it comes from.
 */
export async function windowsScreenLock(ctx: ProbeContext): Promise<ScreenLockSection> {
  const [sidOutcome, machine] = await Promise.all([runPowerShell(ctx, CONSOLE_USER_SID_SCRIPT), readKey(ctx, MACHINE_POLICY_KEY, 'the machine inactivity limit')]);
  if (sidOutcome.kind !== 'output') {
    return errorSection(ctx, `cannot tell who is signed in at the console: ${sidOutcome.kind === 'error' ? powershellErrorReason('the console user lookup', sidOutcome.error) : sidOutcome.reason}`);
  }
  if (typeof machine === 'string') return errorSection(ctx, machine);
  const machineTimeout = positive(machine.get('inactivitytimeoutsecs')?.value);
  const sid = sidOutcome.stdout.trim();
  if (sid === '') {
    return machineTimeout === null ? errorSection(ctx, NO_CONSOLE_USER) : okSection(ctx, lockAfter(machineTimeout, 'machine'));
  }
  if (!/^S-1-[0-9-]+$/.test(sid)) return errorSection(ctx, 'unrecognised SID of the console user');
  const [policy, desktop] = await Promise.all([
    readKey(ctx, userPolicyKey(sid), "the console user's screen saver policy"),
    readKey(ctx, userDesktopKey(sid), "the console user's screen saver settings"),
  ]);
  if (typeof policy === 'string') return errorSection(ctx, policy);
  if (typeof desktop === 'string') return errorSection(ctx, desktop);
  const value = (name: string) => policy.get(name)?.value ?? desktop.get(name)?.value;
  const screenSaverLocks =
    String(value('screensaveactive')) === '1' && String(value('screensaverissecure')) === '1' && String(value('scrnsave.exe') ?? '').trim() !== '';
  const userTimeout = screenSaverLocks ? positive(Number(value('screensavetimeout'))) : null;

  if (machineTimeout !== null && (userTimeout === null || machineTimeout <= userTimeout)) return okSection(ctx, lockAfter(machineTimeout, 'machine'));
  if (userTimeout !== null) return okSection(ctx, lockAfter(userTimeout, 'console_user'));
  return okSection(ctx, { enabled: false, idle_minutes: null, scope: 'console_user' as const });
}

/** reg's answer for a key that does not exist (exit 1): the key has no values. */
export const REG_KEY_MISSING = /unable to find the specified registry key/i;

/**
 * A key's values, or why they could not be read. Only a missing key counts as empty:
 * access denied, a timeout or any other failure leaves the setting unknown, never "off".
 */
async function readKey(ctx: ProbeContext, key: string, what: string): Promise<Map<string, RegValue> | string> {
  const r = await ctx.exec('reg', ['query', key]);
  if (succeeded(r)) return parseRegQuery(r.stdout);
  if (!r.failure && r.code === 1 && REG_KEY_MISSING.test(`${r.stderr}\n${r.stdout}`)) return new Map();
  if (!r.failure && isPermissionDenied(r)) return needsPrivilege(ctx, what);
  return `cannot read ${what}: ${execFailureReason('reg', r)}; screen lock is unknown, run \`reg query\` on the key as the agent's user to see why`;
}

function positive(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

function lockAfter(seconds: number, scope: 'machine' | 'console_user') {
  return { enabled: true, idle_minutes: Math.round((seconds / 60) * 100) / 100, scope };
}

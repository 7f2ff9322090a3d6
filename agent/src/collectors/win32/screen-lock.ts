import type { ScreenLockSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, okSection, succeeded } from '../section.js';
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
  const [sidOutcome, machine] = await Promise.all([runPowerShell(ctx, CONSOLE_USER_SID_SCRIPT), readKey(ctx, MACHINE_POLICY_KEY)]);
  const machineTimeout = positive(machine.get('inactivitytimeoutsecs')?.value);
  if (sidOutcome.kind !== 'output') {
    return errorSection(ctx, `cannot tell who is signed in at the console: ${sidOutcome.kind === 'error' ? powershellErrorReason('the console user lookup', sidOutcome.error) : sidOutcome.reason}`);
  }
  const sid = sidOutcome.stdout.trim();
  if (sid === '') {
    return machineTimeout === null ? errorSection(ctx, NO_CONSOLE_USER) : okSection(ctx, lockAfter(machineTimeout, 'machine'));
  }
  if (!/^S-1-[0-9-]+$/.test(sid)) return errorSection(ctx, 'unrecognised SID of the console user');
  const [policy, desktop] = await Promise.all([readKey(ctx, userPolicyKey(sid)), readKey(ctx, userDesktopKey(sid))]);
  const value = (name: string) => policy.get(name)?.value ?? desktop.get(name)?.value;
  const screenSaverLocks =
    String(value('screensaveactive')) === '1' && String(value('screensaverissecure')) === '1' && String(value('scrnsave.exe') ?? '').trim() !== '';
  const userTimeout = screenSaverLocks ? positive(Number(value('screensavetimeout'))) : null;

  if (machineTimeout !== null && (userTimeout === null || machineTimeout <= userTimeout)) return okSection(ctx, lockAfter(machineTimeout, 'machine'));
  if (userTimeout !== null) return okSection(ctx, lockAfter(userTimeout, 'console_user'));
  return okSection(ctx, { enabled: false, idle_minutes: null, scope: 'console_user' as const });
}

/** A key's values; a key that does not exist (reg exits 1) has none. */
async function readKey(ctx: ProbeContext, key: string): Promise<Map<string, RegValue>> {
  const r = await ctx.exec('reg', ['query', key]);
  return succeeded(r) ? parseRegQuery(r.stdout) : new Map();
}

function positive(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

function lockAfter(seconds: number, scope: 'machine' | 'console_user') {
  return { enabled: true, idle_minutes: Math.round((seconds / 60) * 100) / 100, scope };
}

import type { PatchesSection } from '@postern/shared';
import { SLOW_TIMEOUT_MS, type ExecResult, type ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, firstLine, okSection, succeeded } from '../section.js';
import { parseAptCheck, parseAptListUpgradable, parseUnattendedUpgrade, type AptCounts } from './parse-apt.js';
import { lastInstallInAptHistory } from './parse-apt-history.js';
import { appliesUpdates, latestRpmInstallTime, parseDnfCheckUpdate, parseDnfSecurityPackages } from './parse-dnf.js';

/**
 * Pending updates from the package manager's cached metadata. Package lists are never
 * refreshed (no network assumptions, no lock contention with the admin): apt reads what
 * the last `apt update` fetched, dnf/yum run cache-only (-C).
 */
export async function linuxPatches(ctx: ProbeContext): Promise<PatchesSection> {
  return (await aptPatches(ctx)) ?? (await dnfPatches(ctx, 'dnf')) ?? (await dnfPatches(ctx, 'yum')) ??
    errorSection(ctx, 'no supported package manager found (apt, dnf, yum)');
}

const slow = { timeoutMs: SLOW_TIMEOUT_MS };

export const APT_CHECK = '/usr/lib/update-notifier/apt-check';

/** null when this is not an apt system. */
async function aptPatches(ctx: ProbeContext): Promise<PatchesSection | null> {
  const counts = await aptCounts(ctx);
  if (counts === null) return null;
  if (typeof counts === 'string') return errorSection(ctx, counts);
  const [lastInstalledAt, autoUpdates] = await Promise.all([aptLastInstall(ctx), aptAutoUpdates(ctx)]);
  return okSection(ctx, {
    pending: counts.pending,
    pending_security: counts.security,
    pending_security_unit: 'packages' as const,
    last_installed_at: lastInstalledAt,
    auto_updates: autoUpdates,
    source: 'apt',
  });
}

/**
 * Ubuntu's apt-check classifies security updates the way Ubuntu means them (a fix also
 * published in -security counts even when -updates has a newer build); elsewhere the
 * suites `apt list --upgradable` prints are the evidence. null: apt is not installed.
 */
async function aptCounts(ctx: ProbeContext): Promise<AptCounts | string | null> {
  const check = await ctx.exec(APT_CHECK, [], slow);
  const fromCheck = succeeded(check) ? parseAptCheck(check.stderr) : null;
  if (fromCheck) return fromCheck;
  const list = await ctx.exec('apt', ['list', '--upgradable'], slow);
  if (list.failure === 'not_found') return null;
  if (!succeeded(list)) return execFailureReason('apt list', list);
  return parseAptListUpgradable(list.stdout) ?? 'unrecognised apt list output';
}

/** history.log rotates monthly (history.log.1.gz, sometimes uncompressed .1). null: no install on record. */
async function aptLastInstall(ctx: ProbeContext): Promise<number | null> {
  const sources: Array<() => Promise<string | null>> = [
    () => ctx.readFile('/var/log/apt/history.log'),
    () => ctx.readFile('/var/log/apt/history.log.1'),
    async () => {
      const r = await ctx.exec('gzip', ['-dc', '/var/log/apt/history.log.1.gz']);
      return succeeded(r) ? r.stdout : null;
    },
  ];
  for (const read of sources) {
    const text = await read();
    const when = text === null ? null : lastInstallInAptHistory(text);
    if (when) return ctx.localTimeToEpochSeconds(when);
  }
  return null;
}

/**
 * apt-config resolves apt.conf and every apt.conf.d fragment in apt's own order, which
 * reading the files ourselves would get wrong. null when apt-config cannot be asked.
 */
async function aptAutoUpdates(ctx: ProbeContext): Promise<boolean | null> {
  const r = await ctx.exec('apt-config', ['shell', 'UU', 'APT::Periodic::Unattended-Upgrade']);
  return succeeded(r) ? parseUnattendedUpgrade(r.stdout) : null;
}

/** null when `tool` is not installed. */
async function dnfPatches(ctx: ProbeContext, tool: 'dnf' | 'yum'): Promise<PatchesSection | null> {
  const check = await ctx.exec(tool, ['-q', '-C', 'check-update'], slow);
  if (check.failure === 'not_found') return null;
  let pending: number;
  if (succeeded(check)) pending = 0;
  else if (!check.failure && check.code === 100) {
    const parsed = parseDnfCheckUpdate(check.stdout);
    if (parsed === null) return errorSection(ctx, `unrecognised ${tool} check-update output`);
    pending = parsed;
  } else if (/cache-?only|no cache|metadata cache/i.test(check.stderr)) {
    return errorSection(ctx, `${tool} has no cached metadata: run ${tool} makecache`);
  } else {
    return errorSection(ctx, execFailureReason(`${tool} check-update`, check));
  }

  const [security, rpm, autoUpdates] = await Promise.all([
    pending === 0 ? Promise.resolve(null) : ctx.exec(tool, ['-q', '-C', 'updateinfo', 'list', '--security'], slow),
    ctx.exec('rpm', ['-qa', '--qf', '%{INSTALLTIME}\\n']),
    dnfAutoUpdates(ctx),
  ]);
  if (security && !succeeded(security)) {
    const detail = firstLine(security.stderr);
    return errorSection(ctx, !security.failure && detail ? `${tool} updateinfo failed: ${detail}` : execFailureReason(`${tool} updateinfo`, security));
  }
  return okSection(ctx, {
    pending,
    pending_security: security ? parseDnfSecurityPackages(security.stdout) : 0,
    pending_security_unit: 'packages' as const,
    last_installed_at: succeeded(rpm) ? latestRpmInstallTime(rpm.stdout) : null,
    auto_updates: autoUpdates,
    source: tool,
  });
}

/**
 * dnf-automatic-install.timer installs; dnf-automatic.timer (dnf4) / dnf5-automatic.timer
 * and EL7's yum-cron install only with `apply_updates = yes`. null when systemd cannot
 * be asked.
 */
async function dnfAutoUpdates(ctx: ProbeContext): Promise<boolean | null> {
  const units: Array<[unit: string, conf: string | null]> = [
    ['dnf-automatic-install.timer', null],
    ['dnf-automatic.timer', '/etc/dnf/automatic.conf'],
    ['dnf5-automatic.timer', '/etc/dnf/dnf5-plugins/automatic.conf'],
    ['yum-cron.service', '/etc/yum/yum-cron.conf'],
  ];
  const results = await Promise.all(units.map(([unit]) => ctx.exec('systemctl', ['is-enabled', unit])));
  if (results.every((r) => r.failure)) return null;
  for (const [i, [, conf]] of units.entries()) {
    if (firstLine(results[i]!.stdout) !== 'enabled') continue;
    if (conf === null) return true;
    const text = await ctx.readFile(conf);
    if (text === null) return null;
    if (appliesUpdates(text)) return true;
  }
  return false;
}

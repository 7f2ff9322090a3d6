import type { PatchesSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { collectedAt, errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { parseSwVers } from './parse-sw-vers.js';
import { isSecurityUpdate, parseSoftwareUpdateList } from './parse-softwareupdate.js';
import { lastSoftwareUpdateInstall, parseSoftwareUpdatePrefs } from './parse-software-update-prefs.js';
import { readPlistFile } from './read-plist.js';

/** `softwareupdate --list` asks Apple's servers and can take minutes. */
export const SOFTWAREUPDATE_TIMEOUT_MS = 5 * 60_000;
export const SOFTWARE_UPDATE_PREFS = '/Library/Preferences/com.apple.SoftwareUpdate.plist';
export const MANAGED_SOFTWARE_UPDATE_PREFS = '/Library/Managed Preferences/com.apple.SoftwareUpdate.plist';
export const INSTALL_HISTORY = '/Library/Receipts/InstallHistory.plist';
/** A cached list older than this says too little about today. */
export const MAX_CHECK_AGE_S = 14 * 86_400;

/**
 * Pending macOS updates from `softwareupdate --list`. When the scan fails (offline, Apple
 * unreachable) the list the last background check stored in the SoftwareUpdate
 * preferences is reported instead, with the time of that check, unless it is older than
 * two weeks. A major upgrade (another macOS release line than `sw_vers` reports) is
 * pending but not a security update of the running OS. Automatic installation comes from the preferences (a managed profile
 * first), the last install from the install history.
 */
export async function darwinPatches(ctx: ProbeContext): Promise<PatchesSection> {
  const [list, swVers, prefsPlist, managedPlist, history] = await Promise.all([
    ctx.exec('softwareupdate', ['--list'], { timeoutMs: SOFTWAREUPDATE_TIMEOUT_MS }),
    ctx.exec('sw_vers', []),
    readPlistFile(ctx, SOFTWARE_UPDATE_PREFS),
    readPlistFile(ctx, MANAGED_SOFTWARE_UPDATE_PREFS),
    readPlistFile(ctx, INSTALL_HISTORY),
  ]);
  const prefs = parseSoftwareUpdatePrefs(prefsPlist);
  // Without the running version every macOS update counts, as a major upgrade cannot be told apart.
  const running = succeeded(swVers) ? (parseSwVers(swVers.stdout)?.productVersion ?? null) : null;
  const common = {
    last_installed_at: lastSoftwareUpdateInstall(history),
    auto_updates: parseSoftwareUpdatePrefs(managedPlist)?.installsMacOsUpdates ?? prefs?.installsMacOsUpdates ?? null,
    source: 'softwareupdate',
  };

  // The tool writes its progress and "No new software available." to stderr, the list to stdout.
  const parsed = list.failure ? null : parseSoftwareUpdateList(`${list.stdout}\n${list.stderr}`);
  if (parsed?.kind === 'updates') {
    return okSection(ctx, {
      pending: parsed.updates.length,
      pending_security: parsed.updates.filter((u) => isSecurityUpdate(u.label, u.action, running)).length,
      pending_security_unit: 'packages' as const,
      ...common,
    });
  }

  const why =
    parsed?.kind === 'scan_failed'
      ? `softwareupdate could not check for updates: ${parsed.reason}`
      : list.failure || list.code !== 0
        ? execFailureReason('softwareupdate --list', list)
        : 'unrecognised softwareupdate --list output';
  const checkedAt = prefs?.lastSuccessfulCheck ?? null;
  if (prefs?.recommended && checkedAt !== null) {
    if (collectedAt(ctx) - checkedAt > MAX_CHECK_AGE_S) {
      return errorSection(ctx, `${why}; the last successful check was on ${new Date(checkedAt * 1000).toISOString().slice(0, 10)}: connect to the internet`);
    }
    return okSection(ctx, {
      pending: prefs.recommended.length,
      pending_security: prefs.recommended.filter((label) => isSecurityUpdate(label, null, running)).length,
      pending_security_unit: 'packages' as const,
      ...common,
      checked_at: checkedAt,
    });
  }
  return errorSection(ctx, why);
}

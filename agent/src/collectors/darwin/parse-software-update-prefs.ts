import { plistArray, plistDict, type PlistValue } from './parse-plist.js';

/** What /Library/Preferences/com.apple.SoftwareUpdate.plist holds from the last background check. */
export interface SoftwareUpdatePrefs {
  /** Identifiers of the recommended updates the last check found; null when the key is absent. */
  recommended: string[] | null;
  /** The last successful check (not install), epoch seconds. */
  lastSuccessfulCheck: number | null;
  /** AutomaticallyInstallMacOSUpdates; null when the key is absent. */
  installsMacOsUpdates: boolean | null;
}

export function parseSoftwareUpdatePrefs(plist: PlistValue | null): SoftwareUpdatePrefs | null {
  const d = plistDict(plist);
  if (!d) return null;
  const recommended = Array.isArray(d.RecommendedUpdates)
    ? plistArray(d.RecommendedUpdates).flatMap((u) => {
        const entry = plistDict(u);
        // The identifier names the product (MSU_UPDATE_…, Safari16.1…); the display name is translated.
        const label = entry?.Identifier ?? entry?.['Display Name'] ?? entry?.['Product Key'];
        return typeof label === 'string' ? [label] : [];
      })
    : null;
  return {
    recommended,
    lastSuccessfulCheck: typeof d.LastSuccessfulDate === 'number' ? d.LastSuccessfulDate : null,
    installsMacOsUpdates: typeof d.AutomaticallyInstallMacOSUpdates === 'boolean' ? d.AutomaticallyInstallMacOSUpdates : null,
  };
}

/**
 * /Library/Receipts/InstallHistory.plist: the newest install made by Software Update,
 * epoch seconds. Background data updates (XProtect and other `config-data`) are left
 * out: they arrive every few days and say nothing about the OS being patched.
 */
export function lastSoftwareUpdateInstall(plist: PlistValue | null): number | null {
  let latest: number | null = null;
  for (const item of plistArray(plist)) {
    const d = plistDict(item);
    if (!d || typeof d.date !== 'number') continue;
    if (d.processName !== 'softwareupdated' && d.processName !== 'Software Update') continue;
    if (d.contentType === 'config-data') continue;
    if (latest === null || d.date > latest) latest = d.date;
  }
  return latest;
}

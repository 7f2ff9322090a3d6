/**
 * `dnf -q check-update` / `yum -q check-update` (exit 100 when updates exist):
 *   openssl.x86_64    1:1.0.2k-26.el7_9    updates
 * A long name wraps, leaving version and repo on the next line. Banners ("Last
 * metadata expiration check") are skipped; "Obsoleting Packages" ends the list.
 * Returns the number of pending updates, or null when no package line was found.
 */
export function parseDnfCheckUpdate(text: string): number | null {
  let pending = 0;
  let wrapped = false;
  for (const line of text.split('\n')) {
    if (/^Obsoleting Packages/i.test(line)) break;
    if (wrapped) {
      wrapped = false;
      if (/^\s+\S+\s+\S+\s*$/.test(line)) {
        pending += 1;
        continue;
      }
    }
    if (/^[^\s:]+\.[^\s.]+\s+\S+\s+\S+\s*$/.test(line)) pending += 1;
    else if (/^[^\s:]+\.[^\s.]+\s*$/.test(line)) wrapped = true;
  }
  return pending > 0 ? pending : null;
}

/** name-[epoch:]version-release.arch → name, arch */
const NEVRA = /^(.+)-(?:\d+:)?[^-\s]+-[^-\s]+\.([A-Za-z0-9_]+)$/;

/**
 * `dnf updateinfo list --security` (dnf4: `ADVISORY  Severity/Sec.  NEVRA`) or dnf5's
 * `advisory list` table (`Name Type Severity Package Issued`). One advisory can list
 * many packages and one package many advisories, so the count is of distinct packages
 * (name.arch), the unit check-update, apt and the posture's `pending_security_unit` use:
 * an advisory over four packages is four, four kernel advisories one install.
 */
export function parseDnfSecurityPackages(text: string): number {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    for (const token of tokens.slice(1)) {
      const m = NEVRA.exec(token);
      if (m) {
        names.add(`${m[1]}.${m[2]}`);
        break;
      }
    }
  }
  return names.size;
}

/** `rpm -qa --qf '%{INSTALLTIME}\n'`: the newest install time, epoch seconds. */
export function latestRpmInstallTime(text: string): number | null {
  let latest: number | null = null;
  for (const token of text.split(/\s+/)) {
    if (!/^\d+$/.test(token)) continue;
    const t = Number(token);
    if (latest === null || t > latest) latest = t;
  }
  return latest;
}

/** dnf-automatic / yum-cron: `apply_updates = yes` installs, otherwise it only downloads or notifies. */
export function appliesUpdates(conf: string): boolean {
  const value = /^\s*apply_updates\s*=\s*(\S+)/m.exec(conf)?.[1]?.toLowerCase();
  return value === 'yes' || value === 'true' || value === '1';
}

/** Pending updates as apt reports them. */
export interface AptCounts {
  pending: number;
  security: number;
}

/**
 * `apt list --upgradable` (stdout; apt's "no stable CLI" WARNING goes to stderr):
 *   openssl/jammy-updates,jammy-security 3.0.2-0ubuntu1.10 amd64 [upgradable from: 3.0.2-0ubuntu1.8]
 * Older apt prints `[installed,upgradable to: X]`. A package is a security update when
 * one of the suites offering the candidate is a `-security` pocket. null when the
 * output is neither a listing nor package lines, so an error is never read as "0".
 */
export function parseAptListUpgradable(text: string): AptCounts | null {
  let pending = 0;
  let security = 0;
  let listing = false;
  for (const line of text.split('\n')) {
    if (/^Listing\.\.\./.test(line)) {
      listing = true;
      continue;
    }
    const m = /^(\S+)\/(\S+)\s+\S+\s+\S+\s+\[(?:upgradable from: |installed,upgradable to: )[^\]]*\]\s*$/.exec(line);
    if (!m) continue;
    pending += 1;
    if (m[2]!.split(',').some((suite) => suite.endsWith('-security'))) security += 1;
  }
  return listing || pending > 0 ? { pending, security } : null;
}

/**
 * Ubuntu's `/usr/lib/update-notifier/apt-check` writes "<updates>;<security>" to stderr
 * (no newline). Its --human-readable form is translated and mixes in ESM adverts, so
 * only the machine form is accepted.
 */
export function parseAptCheck(stderr: string): AptCounts | null {
  const m = /^\s*(\d+);(\d+)\s*$/.exec(stderr);
  return m ? { pending: Number(m[1]), security: Number(m[2]) } : null;
}

/**
 * `apt-config shell UU APT::Periodic::Unattended-Upgrade` prints `UU='1'`, or nothing
 * when the option is unset (apt's default: off). The value is a count of days or an
 * interval ("1d", "always"); "0" and "" switch it off.
 */
export function parseUnattendedUpgrade(stdout: string): boolean {
  const value = /^UU='([^']*)'\s*$/m.exec(stdout)?.[1] ?? '';
  return value !== '' && value !== '0';
}

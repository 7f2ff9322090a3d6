/** sysadminctl writes its answers through NSLog: `2020-12-30 20:27:59.524 sysadminctl[45327:844298] Guest account disabled.` */
const NSLOG_PREFIX = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+\[\d+:[0-9a-fx]+\] /i;

/** The messages of NSLog output, without their timestamp and process prefix. */
export function nsLogMessages(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(NSLOG_PREFIX, '').trim())
    .filter(Boolean);
}

/** What `sysadminctl -screenLock status` says: whether a password is asked after sleep or the screensaver, and after how long. */
export interface MacScreenLock {
  enabled: boolean;
  delaySeconds: number | null;
}

/**
 * Forms: `screenLock delay is immediate`, `screenLock delay is 300 seconds`,
 * `screenLock is off`, `screenLock delay is -1(.000000) seconds` (off). It reflects
 * managed (MDM) settings too. null for anything else.
 */
export function parseScreenLockStatus(text: string): MacScreenLock | null {
  for (const message of nsLogMessages(text)) {
    if (/^screenLock delay is immediate\b/i.test(message)) return { enabled: true, delaySeconds: 0 };
    if (/^screenLock is off\b/i.test(message)) return { enabled: false, delaySeconds: null };
    const m = /^screenLock delay is (-?\d+)(?:\(?\.\d+\)?)? seconds?\b/i.exec(message);
    if (m) {
      const seconds = Number(m[1]);
      return seconds < 0 ? { enabled: false, delaySeconds: null } : { enabled: true, delaySeconds: seconds };
    }
  }
  return null;
}

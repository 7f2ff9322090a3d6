/** What `fdesetup status` says about FileVault. */
export interface FdesetupStatus {
  filevault: 'on' | 'off';
  /** Encryption or decryption under way (`Encryption in progress: …`). */
  conversion: { direction: 'encrypting' | 'decrypting'; progress: number | null; paused: boolean } | null;
  /** `fdesetup enable -defer` is waiting for the user's next login. */
  deferred: boolean;
}

/**
 * `fdesetup status` (no root). Exit 0 = On, 1 = Off, 2 = On but busy; the text says the
 * rest. Forms:
 * - `FileVault is On.` / `FileVault is Off.`
 * - `Encryption in progress: Percent completed = 12.34` (`complete`/`completed` vary),
 *   `Encryption in progress: Pending` while the Mac runs on battery;
 * - `Decryption in progress: Percent complete = 35.00` after turning FileVault off;
 * - `Deferred enablement appears to be active for user 'x'.` — or, set by MDM, without
 *   the user part.
 * Other lines (an appended `diskutil` excerpt) are ignored. null without the first line.
 */
export function parseFdesetupStatus(text: string): FdesetupStatus | null {
  let filevault: FdesetupStatus['filevault'] | null = null;
  let conversion: FdesetupStatus['conversion'] = null;
  let deferred = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const state = /^FileVault is (On|Off)\b/i.exec(line);
    if (state) {
      filevault ??= state[1]!.toLowerCase() === 'on' ? 'on' : 'off';
      continue;
    }
    const progress = /^(Encryption|Decryption) (in progress|paused)\b:?\s*(.*)$/i.exec(line);
    if (progress) {
      const percent = /percent\s+complete(?:d)?\s*=\s*(\d+(?:\.\d+)?)/i.exec(progress[3]!);
      conversion = {
        direction: progress[1]!.toLowerCase() === 'encryption' ? 'encrypting' : 'decrypting',
        progress: percent ? Math.min(100, Number(percent[1])) : null,
        paused: progress[2]!.toLowerCase() === 'paused' || /^pending\b/i.test(progress[3]!),
      };
      continue;
    }
    if (/^Deferred enablement appears to be active\b/i.test(line)) deferred = true;
  }
  return filevault === null ? null : { filevault, conversion, deferred };
}

/**
 * Anti-malware agents recognised by their running processes on Linux and macOS, where
 * no system registry of security products exists. Names are process names as `ps`
 * prints them (macOS prints a path; its last part is compared).
 */
export interface KnownAntivirus {
  name: string;
  /** Scanning engine processes: the product is enabled when one runs. */
  engines: string[];
  /** Processes that keep its signatures current; none listed: freshness is unknown. */
  updaters?: string[];
}

export const KNOWN_ANTIVIRUS: readonly KnownAntivirus[] = [
  { name: 'ClamAV', engines: ['clamd'], updaters: ['freshclam'] },
  { name: 'Microsoft Defender', engines: ['wdavdaemon'] },
  { name: 'CrowdStrike Falcon', engines: ['falcond', 'falcon-sensor'] },
  { name: 'SentinelOne', engines: ['SentinelAgent', 's1-agent'] },
];

/** `ps -A -o comm=`: one command per line, a full path on macOS, at most 15 characters on Linux. */
export function runningProcessNames(psOutput: string): Set<string> {
  const names = new Set<string>();
  for (const line of psOutput.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    names.add(trimmed.slice(trimmed.lastIndexOf('/') + 1));
  }
  return names;
}

export interface AntivirusProduct {
  name: string;
  enabled: boolean;
  up_to_date: boolean | null;
}

/** The known products that have a process running. */
export function runningAntivirus(processes: Set<string>): AntivirusProduct[] {
  const products: AntivirusProduct[] = [];
  for (const av of KNOWN_ANTIVIRUS) {
    if (!av.engines.some((p) => processes.has(p.slice(0, 15)) || processes.has(p))) continue;
    const updating = av.updaters?.some((p) => processes.has(p.slice(0, 15)) || processes.has(p)) ?? false;
    // A running updater keeps signatures current; its absence proves nothing (cron may run it).
    products.push({ name: av.name, enabled: true, up_to_date: updating ? true : null });
  }
  return products;
}

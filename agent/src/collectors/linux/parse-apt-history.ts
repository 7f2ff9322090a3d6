import type { WallClock } from '../wall-clock.js';

/**
 * /var/log/apt/history.log: one stanza per apt run, `Start-Date: 2024-09-13  08:01:18`
 * (two spaces, local time, no zone), package lines, `End-Date:`. Returns the end (or,
 * for an interrupted run, the start) of the newest run that installed or upgraded
 * something; removals alone do not patch anything.
 */
export function lastInstallInAptHistory(text: string): WallClock | null {
  let latest: string | null = null;
  let start: string | null = null;
  let end: string | null = null;
  let installs = false;
  const finish = () => {
    const when = end ?? start;
    if (installs && when && (latest === null || when > latest)) latest = when;
    start = end = null;
    installs = false;
  };
  for (const line of text.split('\n')) {
    const date = /^(Start|End)-Date:\s*(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2}:\d{2})\s*$/.exec(line);
    if (date?.[1] === 'Start') {
      finish();
      start = `${date[2]} ${date[3]}`;
    } else if (date) {
      end = `${date[2]} ${date[3]}`;
    } else if (/^(Install|Upgrade):/.test(line)) {
      installs = true;
    }
  }
  finish();
  if (latest === null) return null;
  const [y, mo, d, h, mi, s] = (latest as string).split(/[- :]/).map(Number) as [number, number, number, number, number, number];
  return { year: y, month: mo, day: d, hour: h, minute: mi, second: s };
}

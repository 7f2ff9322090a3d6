/**
 * Converts a wall-clock time read from a log written in local time (apt's history.log)
 * to epoch seconds, using the device's IANA zone rather than the zone of whoever runs
 * the code, so a replay elsewhere gives the same answer.
 */
export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** null when the zone is unknown to this runtime or the time does not exist. */
export function wallClockToEpochSeconds(t: WallClock, timeZone: string): number | null {
  const naive = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  if (Number.isNaN(naive)) return null;
  try {
    // Two passes settle the offset across a DST change; a time skipped by a spring-forward
    // gap lands one hour later, which is as good as a log line can be read.
    let ms = naive - offsetAt(naive, timeZone);
    ms = naive - offsetAt(ms, timeZone);
    return Math.floor(ms / 1000);
  } catch {
    return null;
  }
}

/** One value as gsettings prints it (GVariant text): `true`, `uint32 300`, `'zoom'`. */
export type GSettingsValue = boolean | number | string;

/**
 * `gsettings list-recursively [schema]`: `schema key value` per line. Returns
 * `schema key` → value; lines that are not settings are skipped.
 */
export function parseGsettingsList(text: string): Map<string, GSettingsValue> {
  const settings = new Map<string, GSettingsValue>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) (.*?)\s*$/.exec(line);
    if (!m || !m[1]!.includes('.')) continue;
    settings.set(`${m[1]} ${m[2]}`, gvariant(m[3]!));
  }
  return settings;
}

function gvariant(text: string): GSettingsValue {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = /^(?:u?int(?:16|32|64)|byte|double)?\s*(-?\d+(?:\.\d+)?)$/.exec(text);
  if (n) return Number(n[1]);
  const s = /^'(.*)'$/.exec(text);
  return s ? s[1]! : text;
}

/** What GNOME's settings say about locking an idle screen. */
export interface GnomeScreenLock {
  enabled: boolean;
  idleMinutes: number | null;
}

/**
 * GNOME locks an idle screen when the session goes idle (`idle-delay` seconds, 0 =
 * never), the screensaver activates on idle, and `lock-enabled` is on; the lock follows
 * `lock-delay` seconds after the screen blanks. null when the keys are missing (not GNOME).
 */
export function gnomeScreenLock(settings: Map<string, GSettingsValue>): GnomeScreenLock | null {
  const lockEnabled = settings.get('org.gnome.desktop.screensaver lock-enabled');
  const idleDelay = settings.get('org.gnome.desktop.session idle-delay');
  if (typeof lockEnabled !== 'boolean' || typeof idleDelay !== 'number') return null;
  const activation = settings.get('org.gnome.desktop.screensaver idle-activation-enabled');
  const lockDelay = settings.get('org.gnome.desktop.screensaver lock-delay');
  const enabled = lockEnabled && activation !== false && idleDelay > 0;
  if (!enabled) return { enabled, idleMinutes: null };
  const seconds = idleDelay + (typeof lockDelay === 'number' ? lockDelay : 0);
  return { enabled, idleMinutes: Math.round((seconds / 60) * 100) / 100 };
}

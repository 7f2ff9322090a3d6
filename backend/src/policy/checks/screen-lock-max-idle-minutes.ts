import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const maxIdleParams = z.strictObject({ max: z.number().positive().default(15) });

export const screenLockMaxIdleMinutes: CatalogCheck<z.infer<typeof maxIdleParams>> = {
  id: 'screen_lock.max_idle_minutes',
  summary: 'the screen locks by itself after at most `max` idle minutes',
  section: 'screen_lock',
  params: maxIdleParams,
  reasons: ['off', 'idle_too_long'],
  evaluate(posture, { max }) {
    const s = posture.screen_lock;
    const missing = unreadable('the screen lock', s);
    if (missing || s === undefined || s.status !== 'ok') return missing!;
    if (s.enabled === false) return { status: 'fail', reason: 'off', message: 'the screen lock is off' };
    if (s.enabled === null) return { status: 'unknown', reason: 'unknown', message: 'whether the screen locks is not known' };
    if (s.idle_minutes === null) return { status: 'unknown', reason: 'unknown', message: 'the screen lock is on but its idle time is not known' };
    return s.idle_minutes <= max
      ? { status: 'pass', message: `the screen locks after ${s.idle_minutes} idle minutes` }
      : { status: 'fail', reason: 'idle_too_long', message: `the screen locks only after ${s.idle_minutes} idle minutes (at most ${max} allowed)` };
  },
  remediation: {
    linux: {
      default: 'Turn on the automatic screen lock: GNOME Settings > Privacy > Screen Lock (or `gsettings set org.gnome.desktop.screensaver lock-enabled true`).',
      off: 'Turn on the automatic screen lock: GNOME Settings > Privacy > Screen Lock (or `gsettings set org.gnome.desktop.screensaver lock-enabled true`).',
      idle_too_long: 'Shorten the idle time before the screen blanks and locks: GNOME Settings > Power > Screen Blank (or `gsettings set org.gnome.desktop.session idle-delay 600`).',
      unknown: RUN_PRIVILEGED.linux,
    },
    darwin: {
      default: 'Require a password right after the screen saver starts: System Settings > Lock Screen.',
      off: 'Require a password when the screen saver starts or the display turns off: System Settings > Lock Screen > "Require password…" Immediately.',
      idle_too_long: 'Start the screen saver or turn the display off sooner: System Settings > Lock Screen, within the allowed minutes.',
      unknown: RUN_PRIVILEGED.darwin,
    },
    win32: {
      default: 'Lock the screen when idle: Settings > Accounts > Sign-in options > "If you\'ve been away…" When PC wakes up from sleep, and a short screen timeout.',
      off: 'Turn on the screen lock: Settings > Accounts > Sign-in options > "If you\'ve been away, when should Windows require you to sign in again?" When PC wakes up from sleep.',
      idle_too_long: 'Shorten the screen timeout: Settings > System > Power > Screen and sleep (or set the "Interactive logon: Machine inactivity limit" policy).',
      unknown: RUN_PRIVILEGED.win32,
    },
  },
};

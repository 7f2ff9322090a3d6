import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { plural, RUN_PRIVILEGED, unreadable } from './common.js';

export const maxDaysSinceUpdateParams = z.strictObject({ max_days: z.number().int().positive().default(30) });

export const patchesMaxDaysSinceUpdate: CatalogCheck<z.infer<typeof maxDaysSinceUpdateParams>> = {
  id: 'patches.max_days_since_update',
  summary: 'updates were last installed at most `max_days` days before the report',
  section: 'patches',
  params: maxDaysSinceUpdateParams,
  reasons: ['stale'],
  evaluate(posture, { max_days }, context) {
    const p = posture.patches;
    const missing = unreadable('update history', p);
    if (missing || p.status !== 'ok') return missing!;
    if (p.last_installed_at === null) return { status: 'unknown', reason: 'unknown', message: `the time of the last installed update is not reported by ${p.source}` };
    const days = Math.floor(Math.max(0, context.attestedAt - p.last_installed_at) / 86400);
    return days <= max_days
      ? { status: 'pass', message: `updates were last installed ${plural(days, 'day')} ago` }
      : { status: 'fail', reason: 'stale', message: `updates were last installed ${days} days ago (at most ${max_days} allowed)` };
  },
  remediation: {
    linux: { default: 'Install updates now: `sudo apt-get update && sudo apt-get upgrade` (Debian/Ubuntu) or `sudo dnf upgrade` (RHEL/Fedora).', unknown: RUN_PRIVILEGED.linux },
    darwin: { default: 'Install updates now: System Settings > General > Software Update, or `softwareupdate -ia`.', unknown: RUN_PRIVILEGED.darwin },
    win32: { default: 'Install updates now: Settings > Windows Update > Check for updates, then restart.', unknown: RUN_PRIVILEGED.win32 },
  },
};

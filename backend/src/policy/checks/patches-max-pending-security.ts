import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { plural, RUN_PRIVILEGED, unreadable } from './common.js';

export const maxPendingSecurityParams = z.strictObject({ max: z.number().int().nonnegative().default(0) });

export const patchesMaxPendingSecurity: CatalogCheck<z.infer<typeof maxPendingSecurityParams>> = {
  id: 'patches.max_pending_security',
  summary: 'at most `max` security updates are pending',
  section: 'patches',
  params: maxPendingSecurityParams,
  reasons: ['pending'],
  evaluate(posture, { max }) {
    const p = posture.patches;
    const missing = unreadable('pending updates', p);
    if (missing || p.status !== 'ok') return missing!;
    // The agent names its unit (one per package or update to install) so an admin can tell what N counts.
    const unit = p.pending_security_unit ? `, counted in ${p.pending_security_unit} (one per package or update to install)` : '';
    return p.pending_security <= max
      ? { status: 'pass', message: `${plural(p.pending_security, 'security update')} pending` }
      : { status: 'fail', reason: 'pending', message: `${p.pending_security} security updates are pending (at most ${max} allowed)${unit}` };
  },
  remediation: {
    linux: { default: 'Install pending security updates: `sudo apt-get update && sudo apt-get upgrade` (Debian/Ubuntu) or `sudo dnf upgrade --security` (RHEL/Fedora).', unknown: RUN_PRIVILEGED.linux },
    darwin: { default: 'Install pending updates: System Settings > General > Software Update, or `softwareupdate -ia`.', unknown: RUN_PRIVILEGED.darwin },
    win32: { default: 'Install pending updates: Settings > Windows Update > Check for updates, then restart.', unknown: RUN_PRIVILEGED.win32 },
  },
};

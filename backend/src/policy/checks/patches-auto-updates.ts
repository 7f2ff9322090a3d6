import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const autoUpdatesParams = z.strictObject({});

export const patchesAutoUpdates: CatalogCheck<z.infer<typeof autoUpdatesParams>> = {
  id: 'patches.auto_updates',
  summary: 'automatic installation of updates is turned on',
  section: 'patches',
  params: autoUpdatesParams,
  reasons: ['off'],
  evaluate(posture) {
    const p = posture.patches;
    const missing = unreadable('the update settings', p);
    if (missing || p.status !== 'ok') return missing!;
    if (p.auto_updates === null) return { status: 'unknown', reason: 'unknown', message: `whether ${p.source} installs updates automatically is not known` };
    return p.auto_updates
      ? { status: 'pass', message: `automatic updates are on (${p.source})` }
      : { status: 'fail', reason: 'off', message: `automatic updates are off (${p.source})` };
  },
  remediation: {
    linux: { default: 'Turn on automatic security updates: `sudo apt-get install unattended-upgrades && sudo dpkg-reconfigure -plow unattended-upgrades` (Debian/Ubuntu) or `sudo dnf install dnf-automatic && sudo systemctl enable --now dnf-automatic-install.timer` (RHEL/Fedora).', unknown: RUN_PRIVILEGED.linux },
    darwin: { default: 'Turn on automatic updates: System Settings > General > Software Update > Automatic updates, all switches on.', unknown: RUN_PRIVILEGED.darwin },
    win32: { default: 'Let Windows Update install updates automatically: Settings > Windows Update > Advanced options, and do not pause updates.', unknown: RUN_PRIVILEGED.win32 },
  },
};

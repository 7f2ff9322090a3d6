import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const antivirusParams = z.strictObject({
  /** Fail when an enabled product's signatures are out of date. */
  require_up_to_date: z.boolean().default(true),
});

export const antivirusActive: CatalogCheck<z.infer<typeof antivirusParams>> = {
  id: 'antivirus.active',
  summary: 'an anti-malware product is active, with up-to-date signatures',
  section: 'antivirus',
  params: antivirusParams,
  reasons: ['inactive', 'out_of_date'],
  evaluate(posture, params) {
    const av = posture.antivirus;
    const missing = unreadable('anti-malware protection', av);
    if (missing || av === undefined || av.status !== 'ok') return missing!;
    const enabled = av.products.filter((p) => p.enabled);
    if (!av.active || (av.products.length > 0 && enabled.length === 0)) return { status: 'fail', reason: 'inactive', message: av.products.length ? `no anti-malware product is active (${av.products.map((p) => `${p.name} off`).join(', ')})` : 'no anti-malware product is active' };
    if (params.require_up_to_date) {
      const stale = enabled.filter((p) => p.up_to_date === false).map((p) => p.name);
      if (stale.length > 0) return { status: 'fail', reason: 'out_of_date', message: `signatures of ${stale.join(', ')} are out of date` };
      if (enabled.length > 0 && enabled.every((p) => p.up_to_date === null)) return { status: 'unknown', reason: 'unknown', message: `whether the signatures of ${enabled.map((p) => p.name).join(', ')} are up to date is not known` };
    }
    return { status: 'pass', message: enabled.length ? `anti-malware is active (${enabled.map((p) => p.name).join(', ')})` : 'anti-malware is active' };
  },
  remediation: {
    linux: {
      default: 'Install and start an anti-malware service your organisation approves (for example `sudo systemctl enable --now clamav-daemon clamav-freshclam`).',
      inactive: 'Start the anti-malware service your organisation approves (for example `sudo systemctl enable --now clamav-daemon`).',
      out_of_date: 'Update the anti-malware signatures (for example `sudo systemctl enable --now clamav-freshclam`, or `sudo freshclam`).',
      unknown: RUN_PRIVILEGED.linux,
    },
    darwin: {
      default: 'Turn on the anti-malware product your organisation approves, or keep XProtect current with System Settings > General > Software Update > "Install Security Responses and system files".',
      inactive: 'Turn on the anti-malware product your organisation approves (open it and enable real-time protection).',
      out_of_date: 'Update malware definitions: turn on System Settings > General > Software Update > Automatic updates > "Install Security Responses and system files", or update your anti-malware product.',
      unknown: RUN_PRIVILEGED.darwin,
    },
    win32: {
      default: 'Turn on Microsoft Defender real-time protection: Windows Security > Virus & threat protection > Manage settings.',
      inactive: 'Turn on real-time protection: Windows Security > Virus & threat protection > Manage settings > Real-time protection (or `Set-MpPreference -DisableRealtimeMonitoring $false`).',
      out_of_date: 'Update the signatures: Windows Security > Virus & threat protection > Protection updates > Check for updates (or `Update-MpSignature`).',
      unknown: RUN_PRIVILEGED.win32,
    },
  },
};

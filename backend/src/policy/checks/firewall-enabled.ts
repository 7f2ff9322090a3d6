import { z } from 'zod';
import type { CatalogCheck } from '../types.js';

export const firewallEnabledParams = z.object({});

export const firewallEnabled: CatalogCheck<z.infer<typeof firewallEnabledParams>> = {
  id: 'firewall.enabled',
  evaluate(posture) {
    const fw = posture.firewall;
    if (fw.status !== 'ok') return { status: 'unknown', message: `firewall could not be read: ${fw.error}` };
    const off = fw.profiles.filter((p) => !p.enabled).map((p) => p.name);
    if (!fw.enabled) return { status: 'fail', message: 'no host firewall is filtering incoming traffic' };
    if (off.length > 0) return { status: 'fail', message: `the firewall is off for profile${off.length > 1 ? 's' : ''} ${off.join(', ')}` };
    return { status: 'pass', message: `host firewall is on (${fw.backend})` };
  },
};

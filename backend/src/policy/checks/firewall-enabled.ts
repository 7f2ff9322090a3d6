import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const firewallEnabledParams = z.strictObject({});

/**
 * The Linux agent's error when none of nft, iptables, ufw and firewall-cmd exists (the agent
 * searches the sbin directories too). Nothing can have set up filtering, so this is a fact to
 * fix by installing a firewall, not a reading to retry as root.
 */
const NOT_INSTALLED = /^no firewall tool found\b/;

export const firewallEnabled: CatalogCheck<z.infer<typeof firewallEnabledParams>> = {
  id: 'firewall.enabled',
  summary: 'a host firewall filters inbound traffic, on every profile (Windows: Domain, Private and Public)',
  section: 'firewall',
  params: firewallEnabledParams,
  reasons: ['off', 'profile_off', 'not_installed'],
  evaluate(posture) {
    const fw = posture.firewall;
    if (fw.status === 'error' && NOT_INSTALLED.test(fw.error)) {
      return { status: 'fail', reason: 'not_installed', message: `no firewall tool is installed, so nothing filters incoming traffic (${fw.error})` };
    }
    const missing = unreadable('the firewall', fw);
    if (missing || fw.status !== 'ok') return missing!;
    // Profiles are Windows network profiles, each a separate exposure. On Linux and macOS the
    // agent lists the tools it read; one filtering tool is enough, so `enabled` decides there.
    const off = posture.os.status === 'ok' && posture.os.platform === 'win32' ? fw.profiles.filter((p) => !p.enabled).map((p) => p.name) : [];
    if (!fw.enabled) return { status: 'fail', reason: 'off', message: 'no host firewall is filtering incoming traffic' };
    if (off.length > 0) return { status: 'fail', reason: 'profile_off', message: `the firewall is off for profile${off.length > 1 ? 's' : ''} ${off.join(', ')}` };
    return { status: 'pass', message: `host firewall is on (${fw.backend})` };
  },
  remediation: {
    linux: {
      default: 'Enable a host firewall that drops unsolicited inbound traffic, for example `ufw enable` or `systemctl enable --now firewalld`.',
      not_installed:
        'Install and enable a host firewall that drops unsolicited inbound traffic: `sudo apt install ufw && sudo ufw enable` (Debian/Ubuntu) or `sudo dnf install firewalld && sudo systemctl enable --now firewalld` (RHEL/Fedora).',
      unknown: RUN_PRIVILEGED.linux,
    },
    darwin: { default: 'Turn on the firewall: System Settings > Network > Firewall.', unknown: RUN_PRIVILEGED.darwin },
    win32: {
      default: 'Turn on Windows Defender Firewall for the Domain, Private and Public profiles: `Set-NetFirewallProfile -All -Enabled True`.',
      profile_off: 'Turn on Windows Defender Firewall for the profile named in the message, e.g. `Set-NetFirewallProfile -Profile Public -Enabled True` (or `-All`).',
      unknown: RUN_PRIVILEGED.win32,
    },
  },
};

import type { Policy } from './types.js';

/** The policy a fresh install decides with, until the security team writes its own. */
export const defaultPolicy: Policy = {
  id: 'default',
  version: 1,
  max_age_s: 15 * 60,
  report_interval_s: 5 * 60,
  checks: [
    {
      id: 'os.min_version',
      severity: 'high',
      weight: 25,
      enforcement: 'block',
      params: {
        linux: { debian: '12', ubuntu: '22.04', rhel: '9', rocky: '9', almalinux: '9', centos: '9', fedora: '41', amzn: '2023', 'opensuse-leap': '15.6', linuxmint: '21', pop: '22.04', arch: 'any' },
        darwin: '14.0',
        win32_build: 19045,
      },
      remediation: {
        linux: 'Upgrade to a supported release of your distribution (Debian 12, Ubuntu 22.04, RHEL/Rocky/Alma 9, Fedora 41 or newer).',
        darwin: 'Open System Settings > General > Software Update and upgrade to macOS 14 (Sonoma) or newer.',
        win32: 'Open Settings > Windows Update and install Windows 10 22H2 (build 19045) or Windows 11.',
      },
    },
    {
      id: 'disk_encryption.system_volume',
      severity: 'critical',
      weight: 30,
      enforcement: 'block',
      params: {},
      remediation: {
        linux: 'Reinstall with full-disk encryption (LUKS) on the system volume; an existing volume can be converted with `cryptsetup reencrypt --encrypt` after a backup.',
        darwin: 'Turn on FileVault: System Settings > Privacy & Security > FileVault > Turn On, and keep the Mac on power until it finishes.',
        win32: 'Turn on BitLocker for drive C: (Settings > Privacy & security > Device encryption, or `manage-bde -on C:`), and resume protection if it is suspended (`manage-bde -protectors -enable C:`).',
      },
    },
    {
      id: 'firewall.enabled',
      severity: 'high',
      weight: 25,
      enforcement: 'block',
      params: {},
      remediation: {
        linux: 'Enable a host firewall that drops unsolicited inbound traffic, for example `ufw enable` or `systemctl enable --now firewalld`.',
        darwin: 'Turn on the firewall: System Settings > Network > Firewall.',
        win32: 'Turn on Windows Defender Firewall for the Domain, Private and Public profiles: `Set-NetFirewallProfile -All -Enabled True`.',
      },
    },
    {
      id: 'patches.max_pending_security',
      severity: 'high',
      weight: 20,
      enforcement: 'warn_then_block',
      grace_s: 7 * 24 * 3600,
      params: { max: 0 },
      remediation: {
        linux: 'Install pending security updates: `sudo apt-get update && sudo apt-get upgrade` (Debian/Ubuntu) or `sudo dnf upgrade --security` (RHEL/Fedora).',
        darwin: 'Install pending updates: System Settings > General > Software Update, or `softwareupdate -ia`.',
        win32: 'Install pending updates: Settings > Windows Update > Check for updates, then restart.',
      },
    },
  ],
};

import { z } from 'zod';
import type { CatalogCheck, Finding } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';
import type { Volume } from '@postern/shared';

export const systemVolumeParams = z.strictObject({});

/** The finding for one volume; shared with `disk_encryption.all_fixed_volumes`. */
export function judgeVolume(v: Volume, label: string): Finding {
  if (v.encrypted && v.state === 'on') return { status: 'pass', message: `${label} ${v.mount} is encrypted (${v.method ?? 'encrypted'})` };
  if (v.state === 'encrypting') return { status: 'fail', reason: 'encrypting', message: `${label} ${v.mount} is still being encrypted` };
  // Device Encryption before its first Microsoft/Entra sign-in: nothing was suspended, the key was never protected.
  if (v.state === 'suspended' && v.detail === 'waiting_for_activation') {
    return { status: 'fail', reason: 'waiting_for_activation', message: `${label} ${v.mount} is waiting for activation: it is encrypted with a clear key, so its data is readable` };
  }
  if (v.state === 'suspended') return { status: 'fail', reason: 'suspended', message: `encryption of ${label} ${v.mount} is suspended: its data is readable` };
  if (v.state === 'decrypting') return { status: 'fail', reason: 'decrypting', message: `${label} ${v.mount} is being decrypted` };
  if (v.encrypted && v.state === 'unknown') return { status: 'unknown', reason: 'unknown', message: `${label} ${v.mount} is encrypted but its protection state is unknown` };
  return { status: 'fail', reason: 'off', message: `${label} ${v.mount} is not encrypted` };
}

export const DISK_REMEDIATION = {
  linux: {
    default: 'Reinstall with full-disk encryption (LUKS) on the system volume; an existing volume can be converted with `cryptsetup reencrypt --encrypt` after a backup.',
    off: 'Reinstall with full-disk encryption (LUKS) on the system volume; an existing volume can be converted with `cryptsetup reencrypt --encrypt` after a backup.',
    encrypting: 'LUKS encryption is still running: keep the machine on power until `cryptsetup reencrypt` finishes, then report again.',
    decrypting: 'The volume is being decrypted: stop it and encrypt again with `cryptsetup reencrypt --encrypt` (after a backup).',
    suspended: 'The LUKS volume is suspended: resume it with `cryptsetup luksResume <device>` or reboot.',
    unknown: RUN_PRIVILEGED.linux,
  },
  darwin: {
    default: 'Turn on FileVault: System Settings > Privacy & Security > FileVault > Turn On, and keep the Mac on power until it finishes.',
    off: 'Turn on FileVault: System Settings > Privacy & Security > FileVault > Turn On, and keep the Mac on power until it finishes.',
    encrypting: 'FileVault is still encrypting: keep the Mac awake and on power until System Settings > Privacy & Security > FileVault shows it finished.',
    decrypting: 'FileVault is being turned off: turn it on again in System Settings > Privacy & Security > FileVault.',
    suspended: 'FileVault is paused: keep the Mac on power and awake so encryption can resume (`fdesetup status` shows progress).',
    unknown: RUN_PRIVILEGED.darwin,
  },
  win32: {
    default: 'Turn on BitLocker for drive C: (Settings > Privacy & security > Device encryption, or `manage-bde -on C:`), and resume protection if it is suspended (`manage-bde -protectors -enable C:`).',
    off: 'Turn on BitLocker for the drive: Settings > Privacy & security > Device encryption, or `manage-bde -on C:` in an administrator PowerShell.',
    encrypting: 'BitLocker is still encrypting: keep the PC on power until `manage-bde -status` shows 100% encrypted.',
    decrypting: 'BitLocker is being turned off: turn it on again with `manage-bde -on C:`.',
    suspended: 'BitLocker protection is suspended: resume it with `manage-bde -protectors -enable C:` (or Resume protection in Control Panel > BitLocker).',
    waiting_for_activation:
      'Device Encryption is waiting for activation: sign in to Windows with a Microsoft account or join Microsoft Entra ID, which backs up the recovery key and turns protection on; or, as an administrator, add a recovery password with `manage-bde -protectors -add C: -RecoveryPassword`, store it safely, then run `manage-bde -protectors -enable C:`.',
    unknown: RUN_PRIVILEGED.win32,
  },
};

export const diskEncryptionSystemVolume: CatalogCheck<z.infer<typeof systemVolumeParams>> = {
  id: 'disk_encryption.system_volume',
  summary: 'the system volume is encrypted and its protection is on (encrypting, decrypting, suspended and waiting for activation fail)',
  section: 'disk_encryption',
  params: systemVolumeParams,
  reasons: ['off', 'encrypting', 'decrypting', 'suspended', 'waiting_for_activation'],
  evaluate(posture) {
    const section = posture.disk_encryption;
    const missing = unreadable('disk encryption', section);
    if (missing || section.status !== 'ok') return missing!;
    const system = section.volumes.find((v) => v.system);
    if (!system) return { status: 'unknown', reason: 'unknown', message: 'the system volume was not found among the reported volumes' };
    return judgeVolume(system, 'system volume');
  },
  remediation: DISK_REMEDIATION,
};

import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { unreadable } from './common.js';
import { DISK_REMEDIATION, judgeVolume } from './disk-encryption-system-volume.js';

export const allFixedVolumesParams = z.strictObject({
  /** Mount points not judged (e.g. a scratch volume), compared exactly. */
  exclude_mounts: z.array(z.string()).default([]),
});

export const diskEncryptionAllFixedVolumes: CatalogCheck<z.infer<typeof allFixedVolumesParams>> = {
  id: 'disk_encryption.all_fixed_volumes',
  summary: 'every fixed volume the agent reports is encrypted with protection on',
  section: 'disk_encryption',
  params: allFixedVolumesParams,
  reasons: ['off', 'encrypting', 'decrypting', 'suspended', 'waiting_for_activation'],
  evaluate(posture, params) {
    const section = posture.disk_encryption;
    const missing = unreadable('disk encryption', section);
    if (missing || section.status !== 'ok') return missing!;
    const volumes = section.volumes.filter((v) => !params.exclude_mounts.includes(v.mount));
    if (volumes.length === 0) return { status: 'unknown', reason: 'unknown', message: 'no fixed volumes were reported' };
    const findings = volumes.map((v) => judgeVolume(v, 'volume'));
    const failing = findings.filter((f) => f.status === 'fail');
    if (failing.length > 0) return { status: 'fail', reason: failing[0]?.reason ?? 'off', message: failing.map((f) => f.message).join('; ') };
    const unknown = findings.find((f) => f.status === 'unknown');
    if (unknown) return unknown;
    return { status: 'pass', message: `all ${volumes.length} fixed volume${volumes.length === 1 ? ' is' : 's are'} encrypted (${volumes.map((v) => v.mount).join(', ')})` };
  },
  remediation: {
    linux: { ...DISK_REMEDIATION.linux, default: 'Encrypt every fixed volume with LUKS (named in the message); a data volume can be converted with `cryptsetup reencrypt --encrypt` after a backup.', off: 'Encrypt the volume named in the message with LUKS (`cryptsetup reencrypt --encrypt` after a backup), or remove it.' },
    darwin: { ...DISK_REMEDIATION.darwin, off: 'Turn on FileVault for the startup disk, and encrypt other internal APFS volumes in Disk Utility (Encrypt, or `diskutil apfs encryptVolume`).' },
    win32: { ...DISK_REMEDIATION.win32, default: 'Turn on BitLocker for every fixed drive: `manage-bde -on D:` for each drive named in the message, and turn on auto-unlock.', off: 'Turn on BitLocker for the drive named in the message: `manage-bde -on D:` in an administrator PowerShell, with auto-unlock.' },
  },
};

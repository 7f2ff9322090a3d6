import type { DiskEncryptionSection, Volume } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { parseDiskutilApfsList, systemDataVolume, type ApfsVolume } from './parse-diskutil-apfs.js';
import { parseFdesetupStatus, type FdesetupStatus } from './parse-fdesetup.js';
import { parseMdmclientSecurityInfo } from './parse-mdmclient.js';
import { parsePlist } from './parse-plist.js';

export const MDMCLIENT = '/usr/libexec/mdmclient';
export const DISKUTIL_APFS_ARGS = ['apfs', 'list', '-plist'];

type VolumeFacts = Omit<Volume, 'mount' | 'system'>;
const OFF: VolumeFacts = { encrypted: false, method: null, state: 'off' };

/**
 * FileVault of the startup disk, reported as the `/` volume.
 *
 * `fdesetup status` is the authority (exit 1 means Off, 2 On-but-busy, so its text is
 * read whatever the exit code). `diskutil apfs list -plist` tells hardware encryption
 * from FileVault: on Apple silicon and T2 Macs the data volume is always encrypted at
 * rest, but without FileVault anyone who can start the Mac reads it, so that counts as
 * off (`detail: hardware_only`). When fdesetup cannot answer, diskutil's own FileVault
 * flag, then (as root) mdmclient's, are the same fact from elsewhere.
 */
export async function darwinDiskEncryption(ctx: ProbeContext): Promise<DiskEncryptionSection> {
  const [fdesetup, diskutil] = await Promise.all([ctx.exec('fdesetup', ['status']), ctx.exec('diskutil', DISKUTIL_APFS_ARGS)]);
  const status = fdesetup.failure ? null : parseFdesetupStatus(fdesetup.stdout);
  const containers = succeeded(diskutil) ? parseDiskutilApfsList(parsePlist(diskutil.stdout)) : null;
  const data = containers ? systemDataVolume(containers) : null;
  if (status) return startupDisk(ctx, fromFdesetup(status, data));
  if (data) return startupDisk(ctx, fromDiskutil(data));
  if (ctx.isPrivileged) {
    const mdm = await ctx.exec(MDMCLIENT, ['QuerySecurityInfo']);
    const enabled = succeeded(mdm) ? parseMdmclientSecurityInfo(mdm.stdout)?.fileVaultEnabled : null;
    if (typeof enabled === 'boolean') return startupDisk(ctx, enabled ? { encrypted: true, method: 'filevault', state: 'on' } : OFF);
  }
  return errorSection(ctx, fdesetup.failure ? execFailureReason('fdesetup', fdesetup) : `unrecognised fdesetup status output: ${fdesetup.stdout.trim().slice(0, 80)}`);
}

function startupDisk(ctx: ProbeContext, facts: VolumeFacts): DiskEncryptionSection {
  return okSection(ctx, { volumes: [{ mount: '/', ...facts, system: true }] });
}

export function fromFdesetup(status: FdesetupStatus, data: ApfsVolume | null): VolumeFacts {
  const c = status.conversion;
  if (c) {
    return {
      encrypted: false,
      method: 'filevault',
      state: c.direction,
      ...(c.progress === null ? {} : { progress: c.progress }),
      ...(c.paused ? { detail: 'paused' as const } : {}),
    };
  }
  if (status.filevault === 'on') return { encrypted: true, method: 'filevault', state: 'on' };
  if (status.deferred) return { ...OFF, detail: 'deferred' };
  if (data?.encryption && !data.filevault) return { ...OFF, detail: 'hardware_only' };
  return OFF;
}

function fromDiskutil(data: ApfsVolume): VolumeFacts {
  if (data.cryptoMigrationOn) return { encrypted: false, method: 'filevault', state: data.filevault ? 'encrypting' : 'decrypting' };
  if (data.filevault) return { encrypted: true, method: 'filevault', state: 'on' };
  return data.encryption ? { ...OFF, detail: 'hardware_only' } : OFF;
}

import type { DiskEncryptionSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, needsPrivilege, okSection } from '../section.js';
import { toVolumes, type BitLockerVolume } from './bitlocker-state.js';
import { parseBitLockerVolumeJson, parseEncryptableVolumeJson } from './parse-bitlocker-volume.js';
import { parseManageBdeStatus } from './parse-manage-bde.js';
import { isAccessDenied, isCommandNotFound, isMissingWmiClass, powershellErrorReason, runPowerShell } from './powershell.js';

/** Key protectors are reduced to their types: the objects also carry recovery passwords. */
export const BITLOCKER_VOLUME_SCRIPT =
  'ConvertTo-Json -Depth 4 -InputObject @(Get-BitLockerVolume | Select-Object MountPoint, VolumeType, VolumeStatus, ProtectionStatus, LockStatus, ' +
  "EncryptionPercentage, EncryptionMethod, @{ n = 'KeyProtector'; e = { @($_.KeyProtector | Select-Object KeyProtectorType) } })";

export const ENCRYPTABLE_VOLUME_SCRIPT =
  "$ns = 'root/CIMV2/Security/MicrosoftVolumeEncryption'; " +
  'ConvertTo-Json -Depth 4 -InputObject @(Get-CimInstance -Namespace $ns -ClassName Win32_EncryptableVolume | ForEach-Object { [pscustomobject]@{ ' +
  'volume = ($_ | Select-Object DeviceID, DriveLetter, VolumeType, ConversionStatus, ProtectionStatus, EncryptionMethod); ' +
  "conversionStatus = (Invoke-CimMethod -InputObject $_ -MethodName GetConversionStatus | Select-Object ConversionStatus, EncryptionPercentage); " +
  "lockStatus = (Invoke-CimMethod -InputObject $_ -MethodName GetLockStatus | Select-Object LockStatus); " +
  "protectionStatus = (Invoke-CimMethod -InputObject $_ -MethodName GetProtectionStatus | Select-Object ProtectionStatus) } })";

export const NO_BITLOCKER = 'BitLocker is not available on this edition of Windows (no Win32_EncryptableVolume): use Windows Pro, Enterprise or Education, or turn on Device Encryption';

type Reading = { volumes: BitLockerVolume[] } | { error: string } | { next: 'wmi' | 'manage-bde' };

/**
 * BitLocker, from the most structured source that answers:
 * 1. Get-BitLockerVolume (JSON with numeric enums; admin);
 * 2. Win32_EncryptableVolume and its methods, where the BitLocker module is missing
 *    (Home with Device Encryption);
 * 3. `manage-bde -status`, translated text, only when PowerShell itself cannot run.
 * All three need administrator rights; without them the answer is "permission denied",
 * never "not encrypted" (an unprivileged Get-BitLockerVolume lists nothing at all).
 */
export async function windowsDiskEncryption(ctx: ProbeContext): Promise<DiskEncryptionSection> {
  let last = await fromCmdlet(ctx);
  // PowerShell that cannot run at all is not tried a second time.
  if ('next' in last) last = last.next === 'wmi' ? await fromWmi(ctx) : await fromManageBde(ctx);
  if ('next' in last) last = await fromManageBde(ctx);
  if ('volumes' in last) {
    const volumes = toVolumes(last.volumes);
    if (!volumes.some((v) => v.system)) return errorSection(ctx, 'BitLocker did not list the operating-system volume');
    return okSection(ctx, { volumes });
  }
  return errorSection(ctx, 'error' in last ? last.error : 'no BitLocker source answered');
}

async function fromCmdlet(ctx: ProbeContext): Promise<Reading> {
  const ps = await runPowerShell(ctx, BITLOCKER_VOLUME_SCRIPT);
  if (ps.kind === 'failed') return { next: 'manage-bde' };
  if (ps.kind === 'error') {
    if (isCommandNotFound(ps.error)) return { next: 'wmi' };
    if (isAccessDenied(ps.error) || !ctx.isPrivileged) return { error: needsPrivilege(ctx, 'BitLocker') };
    return { error: powershellErrorReason('Get-BitLockerVolume', ps.error) };
  }
  const volumes = parseBitLockerVolumeJson(ps.stdout);
  if (volumes === null) return { error: `unrecognised Get-BitLockerVolume output: ${ps.stdout.trim().slice(0, 60)}` };
  // Without elevation the cmdlet lists nothing rather than failing.
  if (volumes.length === 0) return { error: ctx.isPrivileged ? 'Get-BitLockerVolume listed no volumes' : needsPrivilege(ctx, 'BitLocker') };
  return { volumes };
}

async function fromWmi(ctx: ProbeContext): Promise<Reading> {
  const ps = await runPowerShell(ctx, ENCRYPTABLE_VOLUME_SCRIPT);
  if (ps.kind === 'failed') return { next: 'manage-bde' };
  if (ps.kind === 'error') {
    if (isAccessDenied(ps.error)) return { error: needsPrivilege(ctx, 'BitLocker') };
    // The BitLocker WMI namespace is missing: BitLocker is not part of this Windows.
    if (isMissingWmiClass(ps.error)) return { error: NO_BITLOCKER };
    return { error: powershellErrorReason('Win32_EncryptableVolume', ps.error) };
  }
  const volumes = parseEncryptableVolumeJson(ps.stdout);
  if (volumes === null) return { error: 'unrecognised Win32_EncryptableVolume output' };
  if (volumes.length === 0) return { error: ctx.isPrivileged ? NO_BITLOCKER : needsPrivilege(ctx, 'BitLocker') };
  return { volumes };
}

async function fromManageBde(ctx: ProbeContext): Promise<Reading> {
  const r = await ctx.exec('manage-bde', ['-status']);
  const status = r.failure ? null : parseManageBdeStatus(`${r.stdout}\n${r.stderr}`);
  if (status?.kind === 'denied') return { error: needsPrivilege(ctx, 'BitLocker') };
  if (status?.kind === 'volumes') return { volumes: status.volumes };
  if (r.failure === 'not_found') return { error: 'neither PowerShell nor manage-bde could be run to read BitLocker' };
  return { error: r.failure || r.code !== 0 ? execFailureReason('manage-bde', r) : 'unrecognised manage-bde -status output' };
}

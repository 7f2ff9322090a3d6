import { asList, asNumber, asRecord, asString, enumValue, parseJson } from '../json.js';
import { CONVERSION, KEY_PROTECTOR, LOCK, METHOD, PROTECTION, VOLUME_TYPE, type BitLockerVolume } from './bitlocker-state.js';

/**
 * `Get-BitLockerVolume | ConvertTo-Json` (admin): enums arrive as numbers in Windows
 * PowerShell 5.1 (names are accepted too). Only JSON is read; the table and list views
 * truncate and follow the host's culture. null when it is not that JSON.
 */
export function parseBitLockerVolumeJson(text: string): BitLockerVolume[] | null {
  const doc = parseJson(text);
  if (doc === undefined) return null;
  const volumes: BitLockerVolume[] = [];
  for (const item of asList(doc)) {
    const v = asRecord(item);
    const mount = asString(v?.MountPoint);
    const conversion = enumValue(v?.VolumeStatus, CONVERSION);
    if (!v || !mount || conversion === null) return null;
    const protectors = Array.isArray(v.KeyProtector) ? v.KeyProtector.length : null;
    const types = Array.isArray(v.KeyProtector) ? v.KeyProtector.map((p) => enumValue(asRecord(p)?.KeyProtectorType, KEY_PROTECTOR)) : [];
    const known = types.filter((t): t is number => t !== null);
    volumes.push({
      mount,
      volumeType: enumValue(v.VolumeType, VOLUME_TYPE),
      conversion,
      protection: enumValue(v.ProtectionStatus, PROTECTION),
      locked: enumValue(v.LockStatus, LOCK) === 1,
      percentEncrypted: asNumber(v.EncryptionPercentage),
      method: enumValue(v.EncryptionMethod, METHOD),
      protectors,
      // One type not understood and the volume is not judged to await activation.
      ...(known.length > 0 && known.length === types.length ? { protectorTypes: known } : {}),
    });
  }
  return volumes;
}

/**
 * Win32_EncryptableVolume (root\CIMV2\Security\MicrosoftVolumeEncryption, admin) with
 * its methods' answers, as `[{volume, conversionStatus, lockStatus, protectionStatus}]`.
 * GetProtectionStatus() is preferred over the cached ProtectionStatus property, which
 * can be stale (osquery found it so on build 26100). null when it is not that JSON.
 */
export function parseEncryptableVolumeJson(text: string): BitLockerVolume[] | null {
  const doc = parseJson(text);
  if (doc === undefined) return null;
  const volumes: BitLockerVolume[] = [];
  for (const item of asList(doc)) {
    const entry = asRecord(item);
    const volume = asRecord(entry?.volume);
    const conversionStatus = asRecord(entry?.conversionStatus);
    const mount = asString(volume?.DriveLetter) || asString(volume?.DeviceID);
    const conversion = asNumber(conversionStatus?.ConversionStatus) ?? asNumber(volume?.ConversionStatus);
    if (!volume || !mount || conversion === null) return null;
    volumes.push({
      mount,
      volumeType: asNumber(volume.VolumeType),
      conversion,
      protection: asNumber(asRecord(entry?.protectionStatus)?.ProtectionStatus) ?? asNumber(volume.ProtectionStatus),
      locked: asNumber(asRecord(entry?.lockStatus)?.LockStatus) === 1,
      percentEncrypted: asNumber(conversionStatus?.EncryptionPercentage),
      method: asNumber(volume.EncryptionMethod),
      protectors: null,
    });
  }
  return volumes;
}

import type { Volume } from '@postern/shared';
import { systemVolumeFirst } from '../volume-order.js';

/**
 * BitLocker's own enums, shared by Get-BitLockerVolume and Win32_EncryptableVolume:
 * conversion (VolumeStatus / ConversionStatus), protection, lock, volume type and method.
 */
export const CONVERSION = ['FullyDecrypted', 'FullyEncrypted', 'EncryptionInProgress', 'DecryptionInProgress', 'EncryptionPaused', 'DecryptionPaused'] as const;
export const PROTECTION = ['Off', 'On', 'Unknown'] as const;
export const LOCK = ['Unlocked', 'Locked'] as const;
export const VOLUME_TYPE = ['OperatingSystem', 'FixedData', 'Removable'] as const;
/** BitLockerVolumeKeyProtectorType, by value. */
export const KEY_PROTECTOR = ['Unknown', 'Tpm', 'ExternalKey', 'RecoveryPassword', 'TpmPin', 'TpmStartupKey', 'TpmPinStartupKey', 'PublicKey', 'Password', 'TpmNetworkKey', 'AdAccountOrGroup'] as const;
export const METHOD = ['None', 'Aes128Diffuser', 'Aes256Diffuser', 'Aes128', 'Aes256', 'Hardware', 'XtsAes128', 'XtsAes256'] as const;
/** EncryptionMethod 5: the drive encrypts itself (eDrive); BitLocker trusts its firmware. */
const HARDWARE_METHOD = 5;

/** One BitLocker volume, read from any of the three sources. */
export interface BitLockerVolume {
  /** `C:`, or `\\?\Volume{GUID}\` for a volume without a letter. */
  mount: string;
  /** 0 OperatingSystem, 1 FixedData, 2 Removable; null when not said (manage-bde says only OS or not). */
  volumeType: number | null;
  /** CONVERSION index. */
  conversion: number;
  /** PROTECTION index; null when not said. */
  protection: number | null;
  locked: boolean;
  /** Percent of the volume encrypted. */
  percentEncrypted: number | null;
  method: number | null;
  /** Key protectors configured; null when not said. */
  protectors: number | null;
  /** Their KeyProtectorType values (1 Tpm, 3 RecoveryPassword, …), when the source lists them. */
  protectorTypes?: number[];
}

type VolumeFacts = Omit<Volume, 'mount' | 'system'>;

/**
 * What a BitLocker volume means for its data:
 * - fully encrypted with protection on (or locked) → on;
 * - fully encrypted with protection off → suspended: the key is stored in the clear and
 *   anyone can read the data. With no protector, or only a TPM one and no recovery
 *   password, it is the "waiting for activation" of Device Encryption (the recovery key
 *   is made and backed up at the first Microsoft/Entra sign-in), which needs activating,
 *   not a resume;
 * - encrypting (or paused) → not encrypted yet; decrypting → no longer protected;
 * - fully decrypted → off.
 */
export function bitLockerFacts(v: BitLockerVolume): VolumeFacts {
  const method = v.method === HARDWARE_METHOD ? 'bitlocker-hardware' : 'bitlocker';
  switch (CONVERSION[v.conversion]) {
    case 'FullyDecrypted':
      return { encrypted: false, method: null, state: 'off' };
    case 'EncryptionInProgress':
    case 'EncryptionPaused':
      return {
        encrypted: false,
        method,
        state: 'encrypting',
        ...(v.percentEncrypted === null ? {} : { progress: v.percentEncrypted }),
        ...(v.conversion === 4 ? { detail: 'paused' as const } : {}),
      };
    case 'DecryptionInProgress':
    case 'DecryptionPaused':
      return {
        encrypted: false,
        method,
        state: 'decrypting',
        ...(v.percentEncrypted === null ? {} : { progress: Math.round((100 - v.percentEncrypted) * 100) / 100 }),
        ...(v.conversion === 5 ? { detail: 'paused' as const } : {}),
      };
    case 'FullyEncrypted':
      if (v.locked || v.protection === 1) return { encrypted: true, method, state: 'on' };
      if (v.protection === 0) return { encrypted: true, method, state: 'suspended', ...(awaitsActivation(v) ? { detail: 'waiting_for_activation' as const } : {}) };
      return { encrypted: true, method, state: 'unknown' };
    default:
      return { encrypted: false, method, state: 'unknown' };
  }
}

const TPM = 1;

/** Device Encryption not yet activated: no protector, or a TPM protector alone (Suspend-BitLocker leaves the recovery password). */
function awaitsActivation(v: BitLockerVolume): boolean {
  if (v.protectors === 0) return true;
  return v.protectorTypes !== undefined && v.protectorTypes.length > 0 && v.protectorTypes.every((t) => t === TPM);
}

/**
 * The volumes worth reporting: the OS volume and fixed data volumes. Removable drives
 * come and go and would turn every plug-in into a posture change.
 */
export function toVolumes(volumes: BitLockerVolume[]): Volume[] {
  const reported = volumes.filter((v) => v.volumeType !== 2);
  return reported
    .map((v): Volume => (v.volumeType === 0 ? { mount: v.mount, ...bitLockerFacts(v), system: true } : { mount: v.mount, ...bitLockerFacts(v) }))
    .sort(systemVolumeFirst);
}

import type { PublicP256Jwk } from '@postern/shared';

/**
 * A device key: ECDSA P-256, used for ES256 only. The private half is never exposed,
 * only a `sign` operation, so a key held by a TPM or the Secure Enclave (both P-256)
 * can stand behind the same interface as the file-based key.
 */
export interface DeviceKey {
  /** RFC 7638 SHA-256 thumbprint of the public key, base64url. */
  readonly kid: string;
  readonly publicJwk: PublicP256Jwk;
  /** ES256 signature over `data`: SHA-256, then ECDSA P-256, as raw `r || s` (64 bytes, RFC 7518 §3.4). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A new device key not stored yet: usable for signing, kept only once `save` is called. */
export interface PendingDeviceKey {
  readonly key: DeviceKey;
  /** Store the key, replacing any existing one. */
  save(): Promise<void>;
}

/** Where device keys live: a file today, hardware later. */
export interface KeyStore {
  /** The device key, or null when none was created yet. */
  load(): Promise<DeviceKey | null>;
  /**
   * Make a new device key without replacing the stored one, so an enrollment the
   * server refuses leaves the existing key in place.
   */
  generate(): Promise<PendingDeviceKey>;
  /** Make a new device key, replacing any existing one. */
  create(): Promise<DeviceKey>;
  /**
   * Key rotation: the next key, kept beside the device key until the server confirmed it, so an
   * agent killed at any step of a rotation still holds a key the server accepts. Null when no
   * rotation is under way.
   */
  loadNext(): Promise<DeviceKey | null>;
  /** Make the next key and store it beside the device key (replacing an earlier next key). */
  createNext(): Promise<DeviceKey>;
  /** The next key becomes the device key, in one step; the old key is gone. */
  promoteNext(): Promise<void>;
  /** Forget the next key (a rotation given up); the device key stays. */
  discardNext(): Promise<void>;
  /** Delete every key (the device unenrolled). */
  destroy(): Promise<void>;
}

import { z } from 'zod';
import { base64url, compactJws, nonce, numericDate, uuid } from './encoding.js';

/**
 * Requests a device signs about its own key and enrollment (docs/protocol.md, "Key rotation" and
 * "Unenrolling"). Each is bound to a fresh server nonce from `GET /v1/nonce`, spent once.
 */
export const KEY_ROTATION_TYP = 'postern-key-rotation+jwt';
export const KEY_CONFIRM_TYP = 'postern-key-confirm+jwt';
export const UNENROLL_TYP = 'postern-unenroll+jwt';

const kid = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected an RFC 7638 SHA-256 thumbprint');

/** The payload of a rotation request: the device names the new key it will use. */
export const keyRotationClaims = z.object({ device_id: uuid, new_kid: kid, nonce, iat: numericDate });
export type KeyRotationClaims = z.infer<typeof keyRotationClaims>;

/** The payload of a confirmation (signed with the new key) and of an unenrollment (signed with the current key). */
export const deviceRequestClaims = z.object({ device_id: uuid, nonce, iat: numericDate });
export type DeviceRequestClaims = z.infer<typeof deviceRequestClaims>;

/**
 * A JWS in the general JSON serialization (RFC 7515 §7.2.1) with exactly two signatures over
 * one payload: the first by the enrolled key (`kid` header), the second by the new key (`jwk`
 * header). Bounded like a compact JWS.
 */
export const dualSignedJws = z.object({
  payload: base64url.max(4_000),
  signatures: z
    .array(z.object({ protected: base64url.max(2_000), signature: base64url.max(200) }))
    .length(2, 'expected two signatures: the enrolled key first, the new key second'),
});
export type DualSignedJws = z.infer<typeof dualSignedJws>;

/** `POST /v1/device/key-rotation` */
export const keyRotationRequest = z.object({ request: dualSignedJws });
export const keyRotationResponse = z.object({ device_id: uuid, pending_kid: kid, started_at: numericDate });
/** `POST /v1/device/key-rotation/confirm` */
export const keyConfirmRequest = z.object({ request: compactJws });
export const keyConfirmResponse = z.object({ device_id: uuid, kid, rotated_at: numericDate });
/** `POST /v1/device/unenroll` */
export const unenrollRequest = z.object({ request: compactJws });
export const unenrollResponse = z.object({ device_id: uuid, status: z.literal('revoked') });

import { z } from 'zod';

/** base64url without padding (RFC 7515 §2). */
export const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected base64url without padding');
/** A nonce: base64url of 32 random bytes. */
export const nonce = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of 32 bytes');
/** EAT UEID of type RAND: 0x01 then 16 random bytes, base64url (17 bytes → 23 chars). */
export const ueid = z.string().regex(/^[A-Za-z0-9_-]{23}$/, 'expected base64url of 17 bytes (UEID type RAND)');
/** Integer seconds since the epoch (JWT NumericDate). */
export const numericDate = z.number().int().nonnegative();
export const uuid = z.string().uuid();
/** A compact JWS: three base64url parts. Bounded so a frame cannot smuggle megabytes. */
export const compactJws = z
  .string()
  .max(60_000)
  .regex(/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/, 'expected a compact JWS');

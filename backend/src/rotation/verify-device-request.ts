import { flattenedVerify, importJWK, type CryptoKey, type ProtectedHeaderParameters } from 'jose';
import {
  deviceKid,
  deviceRequestClaims,
  KEY_ROTATION_TYP,
  keyRotationClaims,
  publicP256Jwk,
  type DeviceRequestClaims,
  type DualSignedJws,
  type KeyRotationClaims,
  type PublicP256Jwk,
} from '@postern/shared';
import type { z } from 'zod';
import { describeIssues } from '../http/describe-issues.js';
import { HttpError } from '../http/http-error.js';

/** The device a key belongs to, with that key: its current one, or (for a confirmation) its pending one. */
export interface KeyHolder {
  deviceId: string;
  jwk: PublicP256Jwk;
}

export interface RequestContext {
  now: number;
  maxSkewS: number;
  /** Whether the nonce is one this server issued and still valid (not whether it was spent: that comes after verification). */
  nonceIssued(nonce: string): boolean;
}

/**
 * Requests a device signs about itself (docs/protocol.md): a rotation request signed by both its
 * enrolled key and the new one, a confirmation signed by the new key, an unenrollment signed by
 * the enrolled key. Each check comes in the order that leaks least (header shape, known key,
 * signature, claims, binding, nonce, clock) and names what was wrong; nothing is stored here.
 */

/** A compact JWS of `typ` signed by a key `findKey` knows by `kid`. */
export async function verifyDeviceRequest(token: string, typ: string, ctx: RequestContext & { findKey(kid: string): Promise<KeyHolder | null> }): Promise<{ holder: KeyHolder; kid: string; claims: DeviceRequestClaims }> {
  const [header, payload, signature, extra] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined || extra !== undefined) throw new HttpError('malformed', 'the request is not a compact JWS');
  const kid = readHeader(header, typ, 'kid');
  const holder = await ctx.findKey(kid);
  if (!holder) throw new HttpError('unknown_key', 'no device has this key (enrolled, or pending in a key rotation): enroll the device again');
  await verifyOne({ protected: header, payload, signature }, holder.jwk, 'the request signature does not verify with the device key');
  const claims = readClaims(payload, deviceRequestClaims);
  checkBinding(claims, holder.deviceId, ctx);
  return { holder, kid, claims };
}

/**
 * A rotation request (RFC 7515 general JSON serialization): signature one by the enrolled key
 * (`kid`), signature two by the new key (`jwk`), over one payload that names the new key's
 * thumbprint. Both must verify: the old key proves who asks, the new key proves it is held.
 */
export async function verifyRotationRequest(
  jws: DualSignedJws,
  ctx: RequestContext & { findEnrolled(kid: string): Promise<(KeyHolder & { kid: string }) | null> },
): Promise<{ holder: KeyHolder & { kid: string }; claims: KeyRotationClaims; newJwk: PublicP256Jwk }> {
  const [byOld, byNew] = jws.signatures as [DualSignedJws['signatures'][number], DualSignedJws['signatures'][number]];
  const oldKid = readHeader(byOld.protected, KEY_ROTATION_TYP, 'kid');
  const newHeader = decodeHeader(byNew.protected);
  checkHeader(newHeader, KEY_ROTATION_TYP);
  if (newHeader.kid !== undefined) throw new HttpError('malformed', 'the second signature names the new key by its "jwk" header alone, without "kid"');
  const parsedJwk = publicP256Jwk.safeParse(newHeader.jwk);
  if (!parsedJwk.success) throw new HttpError('malformed', 'the second signature\'s header must carry the new public key as a P-256 "jwk" without private members');
  const newJwk = parsedJwk.data;

  const holder = await ctx.findEnrolled(oldKid);
  if (!holder) throw new HttpError('unknown_key', 'the first signature names no enrolled device key: sign it with the key the device enrolled with (or last rotated to)');
  await verifyOne({ protected: byOld.protected, payload: jws.payload, signature: byOld.signature }, holder.jwk, 'the first signature does not verify with the enrolled device key');
  await verifyOne({ protected: byNew.protected, payload: jws.payload, signature: byNew.signature }, newJwk, 'the second signature does not verify with the new key its header carries');

  const claims = readClaims(jws.payload, keyRotationClaims);
  if (claims.new_kid !== (await deviceKid(newJwk))) throw new HttpError('malformed', 'new_kid is not the RFC 7638 thumbprint of the key that made the second signature');
  if (claims.new_kid === holder.kid) throw new HttpError('malformed', 'the new key is the enrolled key: make a new key to rotate to');
  checkBinding(claims, holder.deviceId, ctx);
  return { holder, claims, newJwk };
}

function decodeHeader(encoded: string): ProtectedHeaderParameters & Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as ProtectedHeaderParameters & Record<string, unknown>;
  } catch {
    throw new HttpError('malformed', 'a JWS protected header is not base64url of a JSON object');
  }
}

// Pinned: ES256 only, never `none` nor HMAC, and the typ of this request (no token of another kind stands in).
function checkHeader(header: Record<string, unknown>, typ: string): void {
  if (header.alg !== 'ES256') throw new HttpError('bad_signature', `algorithm ${JSON.stringify(header.alg)} is refused: device requests must be signed ES256`);
  if (header.typ !== typ) throw new HttpError('malformed', `the JWS header typ must be "${typ}"`);
  if (header.jku !== undefined || header.x5c !== undefined || header.x5u !== undefined || header.crit !== undefined) throw new HttpError('malformed', 'the JWS header carries members this request does not take (jku, x5c, x5u, crit)');
}

function readHeader(encoded: string, typ: string, member: 'kid'): string {
  const header = decodeHeader(encoded);
  checkHeader(header, typ);
  if (header.jwk !== undefined) throw new HttpError('bad_signature', 'a signature by the device key names it by "kid" and must not carry a key of its own');
  const value = header[member];
  if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw new HttpError('unknown_key', 'the JWS header has no kid naming a device key');
  return value;
}

async function verifyOne(jws: { protected: string; payload: string; signature: string }, jwk: PublicP256Jwk, failure: string): Promise<void> {
  let key: CryptoKey;
  try {
    key = (await importJWK(jwk, 'ES256')) as CryptoKey;
  } catch {
    throw new HttpError('bad_signature', `${failure}: the key is not a point of P-256`);
  }
  try {
    await flattenedVerify(jws, key, { algorithms: ['ES256'] });
  } catch {
    throw new HttpError('bad_signature', failure);
  }
}

function readClaims<S extends z.ZodType>(payload: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new HttpError('malformed', 'the request payload is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new HttpError('malformed', `the request claims do not match the protocol: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

function checkBinding(claims: { device_id: string; nonce: string; iat: number }, deviceId: string, ctx: RequestContext): void {
  if (claims.device_id !== deviceId) throw new HttpError('unknown_key', 'the request names a different device than the key that signed it');
  if (!ctx.nonceIssued(claims.nonce)) throw new HttpError('stale_nonce', 'the nonce is not one this server issued, or it expired: get a new one from GET /v1/nonce');
  if (Math.abs(ctx.now - claims.iat) > ctx.maxSkewS) throw new HttpError('clock_skew', `iat is ${claims.iat - ctx.now} s away from the server's clock (at most ${ctx.maxSkewS} s): synchronise the device clock`);
}

import { EVIDENCE_TYP, evidenceClaims, type EvidenceClaims } from '@postern/shared';
import { describeIssues } from '../http/describe-issues.js';
import { parseCompactJws, verifyCompactJws } from '../keys/compact-jws.js';
import type { PublicKeyCache } from '../keys/public-key-cache.js';
import type { Device } from '../store/schema.js';
import { AttestationError } from './attestation-error.js';

export interface EvidenceContext {
  /** The nonce this server issued for this report; null when none is outstanding. */
  expectedNonce: string | null;
  now: number;
  maxSkewS: number;
  findDeviceByKid(kid: string): Promise<Device | null>;
  publicKeys: PublicKeyCache;
}

/**
 * Checks one attestation JWS in the order that leaks least: header shape, known key,
 * signature (ES256 only), claims schema, binding to the device, nonce, clock. Throws an
 * AttestationError with the protocol's code; never touches stored state.
 */
export async function verifyEvidence(token: string, ctx: EvidenceContext): Promise<{ device: Device; claims: EvidenceClaims }> {
  const jws = parseCompactJws(token);
  if (!jws) throw new AttestationError('bad_signature', 'the attestation is not a readable JWS');
  const { header } = jws;
  // Pinned: never `none`, never HMAC keyed with a public key, never a key from the token itself.
  if (header.alg !== 'ES256') throw new AttestationError('bad_signature', `algorithm ${JSON.stringify(header.alg)} is refused: attestations must be signed ES256`);
  if (header.typ !== EVIDENCE_TYP) throw new AttestationError('schema', `the JWS header typ must be "${EVIDENCE_TYP}"`);
  if (header.jwk !== undefined || header.jku !== undefined || header.x5c !== undefined) throw new AttestationError('bad_signature', 'an attestation must not carry its own key');
  if (header.crit !== undefined) throw new AttestationError('bad_signature', 'an attestation must not name critical header extensions (crit): none is understood');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 128) throw new AttestationError('unknown_key', 'the JWS header has no kid naming an enrolled device key');

  const device = await ctx.findDeviceByKid(header.kid);
  if (!device) throw new AttestationError('unknown_key', 'no device is enrolled with this key: enroll the device first');

  const key = await ctx.publicKeys.get(device.kid, device.public_jwk);
  if (!key) throw new AttestationError('unknown_key', 'the enrolled key of this device does not match its kid: enroll the device again');
  const payload = await verifyCompactJws(jws, key);
  if (!payload) throw new AttestationError('bad_signature', 'the signature does not verify with the enrolled device key');
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new AttestationError('schema', 'the attestation payload is not JSON');
  }
  const parsed = evidenceClaims.safeParse(json);
  if (!parsed.success) throw new AttestationError('schema', `the attestation claims do not match the protocol: ${describeIssues(parsed.error.issues)}`);
  const claims = parsed.data;
  if (claims.device_id !== device.id || claims.ueid !== device.ueid) throw new AttestationError('unknown_key', 'the attestation names a different device than the key that signed it');
  if (ctx.expectedNonce === null || claims.eat_nonce !== ctx.expectedNonce) throw new AttestationError('stale_nonce', 'eat_nonce is not the nonce this server issued last: use the nonce from the latest challenge');
  if (Math.abs(ctx.now - claims.iat) > ctx.maxSkewS) throw new AttestationError('clock_skew', `iat is ${claims.iat - ctx.now} s away from the server's clock (at most ${ctx.maxSkewS} s): synchronise the device clock`);
  return { device, claims };
}

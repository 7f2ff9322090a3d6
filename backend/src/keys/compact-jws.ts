import { KeyObject, sign, verify, type webcrypto } from 'node:crypto';

/**
 * ES256 compact JWS (RFC 7515 §7.1, RFC 7518 §3.4) with node:crypto, for the ingest path: one
 * attestation verified and one result signed per report. jose does the same with WebCrypto, but
 * its JavaScript base64url and byte copies cost the main thread about as much again as the
 * signature itself (profiled); node:crypto's callback form still runs the elliptic-curve work on
 * libuv's thread pool. Only ES256 exists here: the algorithm is pinned, never read from a token.
 */

/** A compact JWS split into its parts, its protected header decoded; not yet verified. */
export interface CompactJws {
  header: Record<string, unknown>;
  /** `<header>.<payload>` as received: the bytes the signature covers. */
  signingInput: string;
  payload: string;
  signature: string;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** An ES256 signature is R ‖ S, 32 bytes each (RFC 7518 §3.4). */
const ES256_SIGNATURE_BYTES = 64;

type Es256Key = KeyObject | webcrypto.CryptoKey;

/** Base64url without padding, strictly: Buffer's decoder would skip characters outside the alphabet. */
function isBase64url(part: string): boolean {
  return part.length % 4 !== 1 && BASE64URL.test(part);
}

/**
 * Splits a compact JWS and decodes its protected header, or answers null when the text is not
 * one: three base64url parts, the first a JSON object (an empty signature fails verification).
 */
export function parseCompactJws(token: string): CompactJws | null {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) return null;
  const encodedHeader = token.slice(0, first);
  const payload = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  if (!isBase64url(encodedHeader) || !isBase64url(payload) || !isBase64url(signature)) return null;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
  return { header: header as Record<string, unknown>, signingInput: token.slice(0, second), payload, signature };
}

/**
 * The payload bytes of `jws` when it is ES256-signed by `key`, else null. A header naming another
 * algorithm, or asking for extensions (`crit`, such as RFC 7797's unencoded payload), is refused:
 * none is understood here.
 */
export function verifyCompactJws(jws: CompactJws, key: Es256Key): Promise<Buffer | null> {
  if (jws.header.alg !== 'ES256' || jws.header.crit !== undefined) return Promise.resolve(null);
  const signature = Buffer.from(jws.signature, 'base64url');
  if (signature.length !== ES256_SIGNATURE_BYTES) return Promise.resolve(null);
  const keyObject = key instanceof KeyObject ? key : KeyObject.from(key);
  // ES256 is pinned on the key too: with an RSA key the same call would check RS256.
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return Promise.resolve(null);
  return new Promise((resolve) => {
    verify('sha256', Buffer.from(jws.signingInput, 'latin1'), { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature, (error, valid) => {
      resolve(!error && valid ? Buffer.from(jws.payload, 'base64url') : null);
    });
  });
}

/** Signs `payload` as an ES256 compact JWS under `header`, whose members are written in the order given. */
export function signCompactJws(key: Es256Key, header: { alg: 'ES256'; typ: string; kid: string }, payload: object): Promise<string> {
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const keyObject = key instanceof KeyObject ? key : KeyObject.from(key);
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(signingInput, 'latin1'), { key: keyObject, dsaEncoding: 'ieee-p1363' }, (error, signature) => {
      if (error) reject(error);
      else resolve(`${signingInput}.${signature.toString('base64url')}`);
    });
  });
}

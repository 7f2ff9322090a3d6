import { calculateJwkThumbprint, type JWK } from 'jose';

/**
 * The `kid` of a device key: its RFC 7638 SHA-256 JWK thumbprint, base64url.
 * @see https://www.rfc-editor.org/rfc/rfc7638
 */
export function deviceKid(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

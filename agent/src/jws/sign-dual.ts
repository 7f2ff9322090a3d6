import type { DualSignedJws } from '@postern/shared';
import type { DeviceKey } from '../keystore/key-store.js';
import type { JwsHeader } from './sign-compact.js';

/**
 * A JWS in the general JSON serialization (RFC 7515 §7.2.1) with two signatures over one
 * payload, each with its own protected header: what a key rotation request needs (the enrolled
 * key and the new key both sign).
 *
 * @example
 * const jws = await signDual([{ key: old, header: { alg: 'ES256', typ, kid: old.kid } }, { key: next, header: { alg: 'ES256', typ, jwk: next.publicJwk } }], claims);
 */
export async function signDual(signers: readonly [{ key: DeviceKey; header: JwsHeader }, { key: DeviceKey; header: JwsHeader }], payload: object): Promise<DualSignedJws> {
  const encodedPayload = b64(JSON.stringify(payload));
  const signatures = await Promise.all(
    signers.map(async ({ key, header }) => {
      const encodedHeader = b64(JSON.stringify(header));
      const signature = await key.sign(new TextEncoder().encode(`${encodedHeader}.${encodedPayload}`));
      return { protected: encodedHeader, signature: Buffer.from(signature).toString('base64url') };
    }),
  );
  return { payload: encodedPayload, signatures };
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

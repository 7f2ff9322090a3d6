import { DEVICE_ALG } from '@postern/shared';
import type { DeviceKey } from '../keystore/key-store.js';

export interface JwsHeader {
  alg: typeof DEVICE_ALG;
  typ: string;
  [member: string]: unknown;
}

/**
 * Compact JWS (RFC 7515 §7.1) signed by a device key. The header is written exactly
 * as given, so each protocol step controls its own header members.
 *
 * @example
 * const jws = await signCompact(key, { alg: 'ES256', typ: 'eat+jwt', kid: key.kid }, claims);
 */
export async function signCompact(key: DeviceKey, header: JwsHeader, payload: object): Promise<string> {
  const signingInput = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const signature = await key.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

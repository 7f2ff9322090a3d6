import { randomBytes } from 'node:crypto';
import { accessTokenHash, DEVICE_ALG, DPOP_TYP } from '@postern/shared';
import { AgentError } from '../errors.js';
import { signCompact } from '../jws/sign-compact.js';
import type { DeviceKey } from '../keystore/key-store.js';

export interface DpopProofInput {
  key: DeviceKey;
  /** HTTP method of the request the proof is for. */
  method: string;
  /** URL of that request; query and fragment are dropped, as `htu` requires. */
  url: string;
  /** The access token sent with the proof (the EAR token), bound in by `ath`. */
  accessToken?: string;
  /** A `DPoP-Nonce` the server asked for. */
  nonce?: string;
  now?: () => number;
}

/**
 * A DPoP proof JWT (RFC 9449 §4.2) signed by the device key, which is the key the
 * EAR token names in `cnf.jkt`: a gateway accepts the token only with such a proof.
 *
 * @example
 * const proof = await createDpopProof({ key, method: 'GET', url: 'https://app.example.com/', accessToken: ear });
 * // curl -H "Authorization: DPoP $ear" -H "DPoP: $proof" https://app.example.com/
 */
export async function createDpopProof(input: DpopProofInput): Promise<string> {
  const now = input.now ?? Date.now;
  const method = input.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new AgentError('bad_method', `"${input.method}" is not an HTTP method`);
  return signCompact(
    input.key,
    { typ: DPOP_TYP, alg: DEVICE_ALG, jwk: input.key.publicJwk },
    {
      jti: randomBytes(16).toString('base64url'),
      htm: method,
      htu: htuOf(input.url),
      iat: Math.floor(now() / 1000),
      ...(input.accessToken !== undefined ? { ath: accessTokenHash(input.accessToken) } : {}),
      ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
    },
  );
}

/** The `htu` claim: the target URI without query and fragment (RFC 9449 §4.2). */
export function htuOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AgentError('bad_url', `"${url}" is not an absolute URL: give it as https://host/path`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new AgentError('bad_url', `a DPoP proof is for an http(s) URL, not ${parsed.protocol}//`);
  }
  parsed.search = '';
  parsed.hash = '';
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

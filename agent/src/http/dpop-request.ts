import { createDpopProof } from '../dpop/proof.js';
import type { DeviceKey } from '../keystore/key-store.js';
import { parseChallenge } from './challenge.js';

/** An HTTP request to make with the device's result token. */
export interface DpopRequest {
  method: string;
  url: string;
  /** Header lines in order; Authorization and DPoP are the agent's own. */
  headers: Array<[string, string]>;
  body?: Uint8Array | undefined;
}

/**
 * Makes `request` with `Authorization: DPoP <token>` and a fresh proof for exactly its method
 * and URL. When the server asks for a nonce (RFC 9449 §8: 401 `DPoP error="use_dpop_nonce"` with
 * a `DPoP-Nonce` header), it signs a new proof with that nonce and asks once more.
 *
 * @example
 * const response = await sendWithDpop({ method: 'GET', url: 'https://app.example.com/', headers: [] }, { key, token }, fetch);
 */
export async function sendWithDpop(request: DpopRequest, credentials: { key: DeviceKey; token: string }, fetchImpl: typeof fetch): Promise<Response> {
  const send = async (nonce: string | undefined): Promise<Response> => {
    const headers = new Headers(request.headers);
    headers.set('authorization', `DPoP ${credentials.token}`);
    headers.set('dpop', await createDpopProof({ key: credentials.key, method: request.method, url: request.url, accessToken: credentials.token, ...(nonce === undefined ? {} : { nonce }) }));
    return fetchImpl(request.url, { method: request.method, headers, ...(request.body === undefined ? {} : { body: request.body }) });
  };
  const first = await send(undefined);
  const nonce = nonceAskedFor(first);
  if (nonce === null) return first;
  await first.body?.cancel();
  return send(nonce);
}

/** The nonce a 401 asks the next proof to carry, or null when it asks for none. */
export function nonceAskedFor(response: Response): string | null {
  if (response.status !== 401) return null;
  const challenge = parseChallenge(response.headers.get('www-authenticate'));
  if (challenge?.scheme.toLowerCase() !== 'dpop' || challenge.params.error !== 'use_dpop_nonce') return null;
  const nonce = response.headers.get('dpop-nonce');
  // RFC 9449 §8.1: nonce = 1*NQCHAR, printable ASCII without the double quote and backslash.
  return nonce !== null && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(nonce) ? nonce : null;
}

import { nonceResponse } from '@postern/shared';
import { z } from 'zod';
import { createDpopProof } from '../../dpop/proof.js';
import { describeConnectionError } from '../../net/connection-error.js';
import { secureFetch } from '../../net/secure-fetch.js';
import { loadTrustStore } from '../../net/trust-store.js';
import type { AgentIdentity } from '../../stream/identity.js';

const pageLink = z.object({ url: z.url(), expires_at: z.number().int() });
export type DevicePageLink = z.infer<typeof pageLink>;

/**
 * Asks the server for a short-lived link to this device's page (`GET /my-device?t=…`): the request
 * carries a DPoP proof signed by the device key, bound by `ath` to a fresh server nonce, so only
 * this device can ask for its own page. Throws with a sentence when the server cannot be asked.
 */
export async function requestDevicePageLink(identity: Pick<AgentIdentity, 'device' | 'key' | 'server' | 'caFile'>, timeoutMs = 5000): Promise<DevicePageLink> {
  const trust = await loadTrustStore({ caFile: identity.caFile });
  const secure = secureFetch(trust);
  const fetchImpl: typeof fetch = (input, init) =>
    secure(input, init).catch((error: unknown) => {
      throw new Error(describeConnectionError(error, identity.server, trust.caFile).message);
    });
  const signal = AbortSignal.timeout(timeoutMs);
  const issued = nonceResponse.safeParse(await (await fetchImpl(`${identity.server}/v1/nonce`, { signal })).json());
  if (!issued.success) throw new Error(`${identity.server} answered GET /v1/nonce without a nonce`);
  const url = `${identity.server}/v1/my-device/links`;
  const proof = await createDpopProof({ key: identity.key, method: 'POST', url, accessToken: issued.data.nonce });
  const response = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop: proof },
    body: JSON.stringify({ device_id: identity.device.device_id, nonce: issued.data.nonce }),
    signal,
  });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(typeof body === 'object' && body !== null && 'detail' in body ? String(body.detail) : `the server answered HTTP ${response.status}`);
  const link = pageLink.safeParse(body);
  if (!link.success) throw new Error('the server answered without a link');
  return link.data;
}

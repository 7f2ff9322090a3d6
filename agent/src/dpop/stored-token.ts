import { AgentError } from '../errors.js';
import { unverifiedClaims } from '../jws/unverified-claims.js';
import type { DeviceKey, KeyStore } from '../keystore/key-store.js';
import type { StateStore } from '../state/store.js';
import { loadIdentity } from '../stream/identity.js';

/** The device key and the result token it may present, with the token's expiry (seconds) when it names one. */
export interface DpopCredentials {
  key: DeviceKey;
  token: string;
  expiresAt: number | undefined;
  /** The private CA saved at enrollment, if any. */
  caFile: string | undefined;
}

/**
 * The last result token and the device key bound to it, refused before anything is sent when
 * there is none yet, it is no JWT or it has expired: each says how to get a fresh one.
 */
export async function storedDpopCredentials(state: { store: StateStore; keyStore: KeyStore }, now: () => number = Date.now): Promise<DpopCredentials> {
  const { key, caFile } = await loadIdentity(state);
  const last = await state.store.readLastResult();
  if (!last) throw new AgentError('no_token', 'there is no attestation result yet: run `postern-agent run --once` first');
  let expiresAt: number | undefined;
  try {
    const { exp } = unverifiedClaims(last.token);
    if (exp !== undefined && typeof exp !== 'number') throw new TypeError('exp is not a number');
    expiresAt = exp;
  } catch {
    throw new AgentError('bad_token', `the stored token in ${state.store.path('last-result.json')} is not a JWT: run \`postern-agent run --once\` to get a fresh one`);
  }
  if (expiresAt !== undefined && expiresAt * 1000 <= now()) {
    throw new AgentError('token_expired', `the stored token expired ${formatUtc(expiresAt)}: run \`postern-agent run --once\` to get a fresh one`);
  }
  return { key, token: last.token, expiresAt, caFile };
}

function formatUtc(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

import { attestationResponse, httpError, nonceResponse, streamErrorCode } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { reasonOf, StreamError } from '../errors.js';
import type { KeyStore } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import { describeChecks, describeVerdict } from '../results/describe.js';
import type { StateStore } from '../state/store.js';
import { AGENT_VERSION } from '../version.js';
import { revokedError, type OnceOutcome } from './connection.js';
import { signEvidence } from './evidence.js';
import { loadIdentity } from './identity.js';
import { markRevoked, saveResult } from './persist.js';
import { PersistedSeq } from './seq.js';
import { RETRYABLE } from './session.js';

export interface HttpReportOptions {
  store: StateStore;
  keyStore: KeyStore;
  collector: Collector;
  log: Logger;
  server?: string | undefined;
  fetch?: typeof fetch;
  now?: () => number;
  agentVersion?: string;
  timeoutMs?: number;
}

/**
 * One report over plain HTTPS, for networks whose proxies break WebSocket:
 * `GET /v1/nonce`, then `POST /v1/attestations` with the signed evidence. The
 * answer is the same result as on the stream, without `type`. Refusals are handled
 * as on the stream: `revoked` marks the device revoked and stops, and a stale nonce or
 * replayed seq is retried once (skipping seq ahead for the latter).
 */
export async function reportOnceOverHttp(options: HttpReportOptions): Promise<OnceOutcome> {
  const { device, key, server } = await loadIdentity(options);
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agentVersion = options.agentVersion ?? AGENT_VERSION;
  const headers = { accept: 'application/json', 'user-agent': `postern-agent/${agentVersion}` };

  const call = async (path: string, init: RequestInit = {}) => {
    try {
      return await fetchImpl(`${server}${path}`, { ...init, headers: { ...headers, ...init.headers }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new StreamError('unreachable', `could not reach ${server} (${reasonOf((err as { cause?: unknown }).cause ?? err)}): check the server URL and this device's network`, { cause: err });
    }
  };

  const fetchNonce = async (): Promise<string> => {
    const nonceRes = await call('/v1/nonce');
    const nonceBody = nonceResponse.safeParse(await nonceRes.json().catch(() => undefined));
    if (!nonceRes.ok || !nonceBody.success) {
      throw new StreamError('bad_response', `GET ${server}/v1/nonce answered HTTP ${nonceRes.status} without a nonce: is this a Postern server?`);
    }
    return nonceBody.data.nonce;
  };

  let nonce = await fetchNonce();
  const posture = await options.collector.collect();
  const seq = new PersistedSeq(options.store, now);
  let retried = false;
  for (;;) {
    const outcome = await attest(nonce);
    // As on the stream: one immediate retry fixes a used nonce or a seq the server already saw.
    if (!('refused' in outcome) || retried || !RETRYABLE.has(outcome.refused.code)) return outcome;
    retried = true;
    if (outcome.refused.code === 'replayed_seq') await seq.skipAhead();
    nonce = await fetchNonce();
  }

  async function attest(signedNonce: string): Promise<OnceOutcome> {
    const token = await signEvidence({ key, device_id: device.device_id, ueid: device.ueid, nonce: signedNonce, seq: await seq.next(), posture, now, agentVersion });
    const res = await call('/v1/attestations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    const json: unknown = await res.json().catch(() => undefined);

    if (res.ok) {
      const body = attestationResponse.safeParse(json);
      if (!body.success) throw new StreamError('bad_response', `POST ${server}/v1/attestations answered with a body this agent does not understand`);
      const result = { type: 'result' as const, ...body.data };
      await saveResult(options.store, result, now);
      options.log.info(`report ${result.seq} accepted (over HTTP): ${describeVerdict(result)}`);
      for (const line of describeChecks(result.checks)) options.log.info(line);
      return { accepted: true, result };
    }
    const error = httpError.safeParse(json);
    const code = error.success ? streamErrorCode.safeParse(error.data.error.code) : undefined;
    // Only the server's own "revoked" stops the agent: a bare 403 comes from a proxy or firewall.
    if (code?.success && code.data === 'revoked') {
      await markRevoked(options.store);
      throw revokedError();
    }
    if (error.success && code?.success) {
      return { accepted: false, refused: { type: 'error', code: code.data, message: error.data.error.message } };
    }
    return { accepted: false, failure: httpFailure(server, res.status, error.success ? error.data.error.message : undefined) };
  }
}

/** An HTTP answer without a Postern refusal in it, with what to check. */
function httpFailure(server: string, status: number, message: string | undefined): string {
  const said = `POST ${server}/v1/attestations answered HTTP ${status}`;
  if (message !== undefined) return `${said} (${message}): try again later, or tell your administrator`;
  if (status === 401 || status === 403 || status === 407) {
    return `${said} without a Postern error body: a proxy or firewall between this device and the server refused the request; check its rules for ${server}`;
  }
  if (status >= 500) return `${said} without a Postern error body: the server or a proxy in front of it failed; try again later`;
  return `${said} without a Postern error body: check that the server URL points at a Postern server and no proxy rewrites the request`;
}

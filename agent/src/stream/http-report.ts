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
import { saveResult } from './persist.js';
import { PersistedSeq } from './seq.js';

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
 * answer is the same result as on the stream, without `type`.
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

  const nonceRes = await call('/v1/nonce');
  const nonceBody = nonceResponse.safeParse(await nonceRes.json().catch(() => undefined));
  if (!nonceRes.ok || !nonceBody.success) {
    throw new StreamError('bad_response', `GET ${server}/v1/nonce answered HTTP ${nonceRes.status} without a nonce: is this a Postern server?`);
  }

  const posture = await options.collector.collect();
  const seq = await new PersistedSeq(options.store, now).next();
  const token = await signEvidence({ key, device_id: device.device_id, ueid: device.ueid, nonce: nonceBody.data.nonce, seq, posture, now, agentVersion });
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
  if (code?.success && code.data === 'revoked') throw revokedError();
  if (error.success && code?.success) {
    return { accepted: false, refused: { type: 'error', code: code.data, message: error.data.error.message } };
  }
  if (res.status === 403) throw revokedError();
  return { accepted: false, failure: `the server answered HTTP ${res.status}${error.success ? ` (${error.data.error.message})` : ''}` };
}

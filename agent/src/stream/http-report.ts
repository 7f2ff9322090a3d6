import { setTimeout as sleep } from 'node:timers/promises';
import { attestationResponse, nonceResponse } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { describeForeignAnswer, mediaType } from '../http/foreign-answer.js';
import { readServerError, retryAfterMs } from '../http/server-error.js';
import type { KeyStore } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import { describeConnectionError } from '../net/connection-error.js';
import { secureFetch } from '../net/secure-fetch.js';
import { loadTrustStore } from '../net/trust-store.js';
import type { StateStore } from '../state/store.js';
import { AGENT_VERSION } from '../version.js';
import type { Backoff } from './backoff.js';
import { signEvidence } from './evidence.js';
import { loadIdentity } from './identity.js';
import { ReportProtocol, type OnceOutcome, type ReportAnswer } from './report-protocol.js';
import { PersistedSeq } from './seq.js';

export interface HttpReportOptions {
  store: StateStore;
  keyStore: KeyStore;
  collector: Collector;
  log: Logger;
  server?: string | undefined;
  /** A private CA's PEM file instead of the one saved at enrollment. */
  caFile?: string | undefined;
  /** Replace the TLS-verifying fetch (tests). */
  fetch?: typeof fetch;
  now?: () => number;
  agentVersion?: string;
  timeoutMs?: number;
  /** Pauses between attempts when the server gives no Retry-After. */
  backoff?: Backoff;
  /** Replace the wait between attempts (tests). */
  sleep?: (ms: number) => Promise<unknown>;
}

/** What one request brought back: the JSON of a 2xx answer, or what the protocol reads instead. */
type Reply = { ok: true; json: unknown } | { ok: false; answer: ReportAnswer };

/**
 * One report over plain HTTPS, for networks whose proxies break WebSocket:
 * `GET /v1/nonce`, then `POST /v1/attestations` with the signed evidence. This is
 * only the transport: every answer goes to the report protocol, which decides as it
 * does for the stream (retry now with a new nonce, wait and retry, revoked, give up).
 */
export async function reportOnceOverHttp(options: HttpReportOptions): Promise<OnceOutcome> {
  const { device, key, server, caFile } = await loadIdentity(options);
  const fetchImpl = options.fetch ?? secureFetch(await loadTrustStore({ caFile }));
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agentVersion = options.agentVersion ?? AGENT_VERSION;
  const headers = { accept: 'application/json', 'user-agent': `postern-agent/${agentVersion}` };
  const seq = new PersistedSeq(options.store, now);
  const protocol = new ReportProtocol({ store: options.store, seq, log: options.log, now, ...(options.backoff ? { backoff: options.backoff } : {}) });

  const posture = await options.collector.collect();
  for (;;) {
    const decision = await protocol.settle(await attempt(), 'over HTTP');
    switch (decision.action) {
      case 'accept':
        return { accepted: true, result: decision.result };
      case 'revoked':
        throw decision.error;
      case 'give_up':
        return decision.outcome;
      case 'retry_later':
        await wait(decision.delayMs);
        break;
      case 'retry_now':
        break;
    }
  }

  /** One nonce, one attestation over it, and what came back. */
  async function attempt(): Promise<ReportAnswer> {
    const issued = await call('GET', '/v1/nonce');
    if (!issued.ok) return issued.answer;
    const nonce = nonceResponse.safeParse(issued.json);
    if (!nonce.success) return { kind: 'failed', reason: `${server} is not a Postern server: GET ${server}/v1/nonce answered without a nonce; check the server URL`, final: true };

    const token = await signEvidence({ key, device_id: device.device_id, ueid: device.ueid, nonce: nonce.data.nonce, seq: await seq.next(), posture, now, agentVersion });
    const posted = await call('POST', '/v1/attestations', { token });
    if (!posted.ok) return posted.answer;
    const body = attestationResponse.safeParse(posted.json);
    if (!body.success) return { kind: 'failed', reason: `POST ${server}/v1/attestations answered with a body this agent does not understand: check that the server's version matches`, final: true };
    return { kind: 'result', result: { type: 'result', ...body.data } };
  }

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
    let res: Response;
    try {
      res = await fetchImpl(`${server}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const { message, final } = describeConnectionError(err, server, caFile);
      return { ok: false, answer: { kind: 'failed', reason: message, final } };
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (res.ok && json !== undefined) return { ok: true, json };
    const retryAfter = retryAfterMs(res.headers, now);
    const refusal = res.ok ? null : readServerError(json);
    if (refusal) return { ok: false, answer: { kind: 'refused', refusal, retryAfterMs: retryAfter } };
    // No Postern error in the body: the way to the server failed, or this is no Postern server at all.
    const foreign = describeForeignAnswer(`${method} ${server}${path}`, server, { status: res.status, contentType: mediaType(res.headers.get('content-type')), location: res.headers.get('location') });
    return { ok: false, answer: { kind: 'failed', reason: foreign.message, retryAfterMs: retryAfter, final: foreign.notPostern } };
  }
}

import type { PublicKeyCache } from '../keys/public-key-cache.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Device } from '../store/schema.js';
import { AttestationError } from './attestation-error.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import { Overloaded } from '../store/micro-batch.js';
import type { IngestItem, IngestResult } from './ingest.js';
import { verifyEvidence } from './verify-evidence.js';

/** A queue that takes one item and answers it when its batch is done (store/micro-batch.ts). */
export interface Queue<I, O> {
  submit(item: I): Promise<O>;
}

/** What one exchange needs: the two queues of the hot path, keys, the clock, and where to count and log. */
export interface ExchangeDeps {
  batches: { devicesByKid: Queue<string, Device | null>; ingest: Queue<IngestItem, IngestResult> };
  publicKeys: PublicKeyCache;
  settings: { maxSkewS: number };
  metrics: Pick<Metrics, 'attestationsAccepted' | 'attestationsRejected' | 'ingestSeconds'>;
  log: Logger;
  now(): number;
}

/**
 * One attestation, whatever the transport: verify, then store and evaluate. Refusals are
 * counted by code and leave stored state untouched. `boundDevice` pins an authenticated
 * stream to the device that opened it; its row stands in for a lookup, since what can change
 * in it (status, group, expiry) is read again when the report is stored.
 */
export async function exchangeAttestation(
  backend: ExchangeDeps,
  token: string,
  expectedNonce: string | null,
  boundDevice: Device | null,
  options: { spendNonce?: (nonce: string) => Promise<boolean> } = {},
): Promise<{ device: Device; result: IngestResult }> {
  const started = process.hrtime.bigint();
  const now = backend.now();
  try {
    const { device, claims } = await verifyEvidence(token, {
      expectedNonce,
      now,
      maxSkewS: backend.settings.maxSkewS,
      findDeviceByKid: (kid) => {
        if (boundDevice === null) return backend.batches.devicesByKid.submit(kid).catch(overloaded);
        if (kid !== boundDevice.kid) throw new AttestationError('unknown_key', 'this stream belongs to another device: open a new connection');
        return Promise.resolve(boundDevice);
      },
      publicKeys: backend.publicKeys,
    });
    // A nonce kept outside the connection (plain HTTP) is spent only by a report that verified,
    // so forged or refused tokens cost no write; every replica sees the spend.
    if (options.spendNonce && !(await options.spendNonce(claims.eat_nonce))) {
      throw new AttestationError('stale_nonce', 'this nonce was already used by another attestation: get a new one from GET /v1/nonce');
    }
    const result = await backend.batches.ingest.submit({ device, claims, now }).catch(overloaded);
    backend.metrics.attestationsAccepted.inc();
    backend.metrics.ingestSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (result.changed) backend.log.info({ device: device.id, from: result.changed.from, to: result.changed.to, score: result.score }, 'verdict changed');
    return { device, result };
  } catch (caught) {
    // Not the report's fault: the agent keeps it and sends it again later. The cause is logged once here, as no refusal path logs it.
    if (isDatabaseUnavailable(caught)) backend.log.warn({ err: caught }, 'a report was refused: the database is unreachable');
    const error = isDatabaseUnavailable(caught) ? new AttestationError('database_unavailable', 'the database is unreachable at the moment: the report was not stored; retry it in a few seconds') : caught;
    if (error instanceof AttestationError) backend.metrics.attestationsRejected.inc({ code: error.code });
    throw error;
  }
}

/** A full queue is the client's cue to come back later, not a server fault. */
function overloaded(error: unknown): never {
  if (error instanceof Overloaded) throw new AttestationError('rate_limited', `the server is at capacity (${error.message}): send this report again in a few seconds`);
  throw error;
}

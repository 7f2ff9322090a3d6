import type { Backend } from '../context.js';
import { findDeviceByKid } from '../devices/repository.js';
import type { Device } from '../store/schema.js';
import { AttestationError } from './attestation-error.js';
import { ingestEvidence, type IngestResult } from './ingest.js';
import { verifyEvidence } from './verify-evidence.js';

/**
 * One attestation, whatever the transport: verify, then store and evaluate. Refusals are
 * counted by code and leave stored state untouched. `boundDevice` pins an authenticated
 * stream to the device that opened it.
 */
export async function exchangeAttestation(
  backend: Backend,
  token: string,
  expectedNonce: string | null,
  boundDevice: string | null,
): Promise<{ device: Device; result: IngestResult }> {
  const started = process.hrtime.bigint();
  const now = backend.now();
  try {
    const { device, claims } = await verifyEvidence(token, {
      expectedNonce,
      now,
      maxSkewS: backend.settings.maxSkewS,
      findDeviceByKid: (kid) => findDeviceByKid(backend.db, kid),
    });
    if (boundDevice !== null && device.id !== boundDevice) throw new AttestationError('unknown_key', 'this stream belongs to another device: open a new connection');
    const result = await ingestEvidence(backend, device, claims, now);
    backend.metrics.attestationsAccepted.inc();
    backend.metrics.ingestSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (result.changed) backend.log.info({ device: device.id, from: result.changed.from, to: result.changed.to, score: result.score }, 'verdict changed');
    return { device, result };
  } catch (error) {
    if (error instanceof AttestationError) backend.metrics.attestationsRejected.inc({ code: error.code });
    throw error;
  }
}

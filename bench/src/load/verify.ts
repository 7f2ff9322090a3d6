/**
 * Baseline for ingest: how many ES256 attestation signatures this machine verifies per
 * second on one core. The parent pins this process (all its threads, so WebCrypto's
 * thread pool too) to one CPU before it starts. The token is a realistic attestation made
 * by the agent's own code; the key is imported once, as a verifier caching keys would.
 */
import { randomBytes } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { signEvidence } from '@postern/agent';
import { deriveDevice, deviceKey, postureOf } from '../lib/fleet.js';

export interface VerifyBaselineResult {
  verifications: number;
  seconds: number;
  perSecond: number;
  tokenBytes: number;
  concurrency: number;
  cpuPercent: number;
}

export async function verifyBaseline(params: { durationS: number; warmupS: number; concurrency: number }): Promise<VerifyBaselineResult> {
  const device = deriveDevice(0);
  const token = await signEvidence({
    key: deviceKey(device),
    device_id: device.id,
    ueid: device.ueid,
    nonce: randomBytes(32).toString('base64url'),
    seq: 1,
    posture: postureOf(0),
    agentVersion: '0.1.0',
  });
  const key = await importJWK({ ...device.publicJwk }, 'ES256');
  let counting = false;
  let stop = false;
  let verifications = 0;
  const lane = async () => {
    while (!stop) {
      await compactVerify(token, key, { algorithms: ['ES256'] });
      if (counting) verifications++;
    }
  };
  const lanes = Array.from({ length: params.concurrency }, lane);
  await new Promise((r) => setTimeout(r, params.warmupS * 1000));
  counting = true;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await new Promise((r) => setTimeout(r, params.durationS * 1000));
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  stop = true;
  await Promise.all(lanes);
  return { verifications, seconds, perSecond: verifications / seconds, tokenBytes: token.length, concurrency: params.concurrency, cpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / seconds };
}

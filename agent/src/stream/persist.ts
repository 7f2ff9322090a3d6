import { earClaims, type ResultFrame } from '@postern/shared';
import { unverifiedClaims } from '../jws/unverified-claims.js';
import type { StateStore } from '../state/store.js';

/**
 * Keep an accepted result: last-result.json for `status` and `token`, and in
 * device.json what the result says about the enrollment (approved, group).
 */
export async function saveResult(store: StateStore, result: ResultFrame, now: () => number): Promise<void> {
  await store.writeLastResult({
    version: 1,
    seq: result.seq,
    verdict: result.verdict,
    score: result.score,
    checks: result.checks,
    token: result.token,
    received_at: Math.floor(now() / 1000),
  });
  const group = groupOf(result.token);
  await store.updateDevice((d) => ({
    ...d,
    status: result.verdict === 'pending' ? 'pending_approval' : result.verdict === 'revoked' ? 'revoked' : 'active',
    group: group ?? d.group,
  }));
}

/**
 * The group named in the EAR token. The token is not verified here: the agent only
 * displays the group, and the token's signature matters to gateways, not to it.
 */
function groupOf(token: string): string | null {
  try {
    const parsed = earClaims.shape.postern.safeParse(unverifiedClaims(token).postern);
    return parsed.success ? parsed.data.group : null;
  } catch {
    return null;
  }
}

/** Note in device.json that the server revoked this device, so `status` says so; best effort. */
export async function markRevoked(store: StateStore): Promise<void> {
  await store.updateDevice((d) => ({ ...d, status: 'revoked' })).catch(() => {});
}

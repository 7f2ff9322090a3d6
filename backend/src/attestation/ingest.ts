import type { CheckResult, EvidenceClaims, Verdict } from '@postern/shared';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append.js';
import { signEar } from '../decisions/ear.js';
import { checksOf, findLatestPosture, toSeconds } from '../devices/repository.js';
import type { ServerKeys } from '../keys/signing-keys.js';
import { evaluatePosture, policyRef, verdictAt } from '../policy/evaluate.js';
import { activeExceptions } from '../exceptions/active.js';
import type { PolicyCache } from '../policy/policy-cache.js';
import { failingIds } from '../policy/reevaluate.js';
import type { Policy } from '../policy/types.js';
import type { Database, Device } from '../store/schema.js';
import { AttestationError } from './attestation-error.js';

export interface IngestDeps {
  db: Kysely<Database>;
  policies: PolicyCache;
  keys: ServerKeys;
  issuer: string;
}

export interface IngestResult {
  seq: number;
  verdict: Verdict;
  score: number;
  checks: CheckResult[];
  token: string;
  /** Set when this report changed the device's verdict. */
  changed: { from: Verdict | null; to: Verdict } | null;
}

/**
 * Stores a verified attestation and its evaluation in one transaction. The seq guard is the
 * UPDATE itself, so two replicas racing with the same report accept it once.
 */
export async function ingestEvidence(deps: IngestDeps, device: Device, claims: EvidenceClaims, now: number): Promise<IngestResult> {
  const standing = { status: device.status, expires_at: toSeconds(device.expires_at) };
  if (verdictAt(deps.policies.forGroup(device.group_name), standing, null, now) === 'revoked') throw new AttestationError('revoked', 'this device is revoked or its enrollment has expired: enroll it again');

  const outcome = await deps.db.transaction().execute(async (trx) => {
    const advanced = await trx
      .updateTable('devices')
      .set({ last_seq: claims.seq, last_seen_at: new Date(now * 1000), agent_version: claims.swversion[0] })
      .where('id', '=', device.id)
      .where('last_seq', '<', claims.seq)
      .where('status', '!=', 'revoked')
      .returning(['status', 'group_name'])
      .executeTakeFirst();
    if (!advanced) {
      const current = await trx.selectFrom('devices').select(['status', 'last_seq']).where('id', '=', device.id).executeTakeFirst();
      if (current?.status === 'revoked') throw new AttestationError('revoked', 'this device has been revoked');
      throw new AttestationError('replayed_seq', `seq ${claims.seq} is not above the last accepted seq ${current?.last_seq ?? '?'}: each report needs a higher seq`);
    }
    // The group is read in this transaction, so an admin's group change is never judged by the old group's policy.
    const policy: Policy = deps.policies.forGroup(advanced.group_name);
    const previous = await findLatestPosture(trx, device.id);
    const previousChecks = checksOf(previous);
    const exceptions = (await activeExceptions(trx, [device.id], now)).get(device.id) ?? [];
    const { checks, score } = evaluatePosture(policy, claims.posture, { now, previous: previousChecks, attestedAt: claims.iat, agentVersion: claims.swversion[0], exceptions });
    const liveStanding = { status: advanced.status, expires_at: standing.expires_at };
    const verdict = verdictAt(policy, liveStanding, { attested_at: claims.iat, checks }, now);
    const previousVerdict = previous ? (previous.verdict as Verdict) : null;
    const row = {
      seq: claims.seq,
      attested_at: new Date(claims.iat * 1000),
      received_at: new Date(now * 1000),
      posture: JSON.stringify(claims.posture),
      verdict,
      score,
      checks: JSON.stringify(checks),
      policy_id: policyRef(policy),
      evaluated_at: new Date(now * 1000),
    };
    await trx
      .insertInto('device_posture')
      .values({ device_id: device.id, ...row })
      .onConflict((oc) => oc.column('device_id').doUpdateSet(row))
      .execute();
    await trx
      .insertInto('attestations')
      .values({ device_id: device.id, seq: claims.seq, attested_at: row.attested_at, received_at: row.received_at, posture: row.posture, verdict, score })
      .execute();
    const changed = previousVerdict !== verdict ? { from: previousVerdict, to: verdict } : null;
    if (changed) {
      await appendAudit(trx, { actor: 'postern', kind: 'device.verdict_changed', deviceId: device.id, detail: { from: changed.from, to: changed.to, score, failing: failingIds(checks), policy: row.policy_id } });
    }
    return { verdict, score, checks, changed, group: advanced.group_name, policy };
  });

  const token = await signEar(deps.keys, deps.issuer, {
    deviceId: device.id,
    kid: device.kid,
    group: outcome.group,
    verdict: outcome.verdict,
    score: outcome.score,
    checks: outcome.checks,
    policyRef: policyRef(outcome.policy),
    nonce: claims.eat_nonce,
    now,
    lifetimeS: Math.min(outcome.policy.max_age_s, 2 * outcome.policy.report_interval_s),
  });
  return { seq: claims.seq, verdict: outcome.verdict, score: outcome.score, checks: outcome.checks, token, changed: outcome.changed };
}

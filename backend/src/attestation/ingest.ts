import type { CheckResult, EvidenceClaims, Verdict } from '@postern/shared';
import type { Kysely } from 'kysely';
import { previousStandings } from '../standing/previous-standings.js';
import type { ServerKeys } from '../keys/signing-keys.js';
import { policyRef } from '../policy/evaluate.js';
import type { Policy, PolicySource } from '../policy/types.js';
import { judge } from '../standing/judge.js';
import { recordStandings, type StandingWrite } from '../standing/record.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import { enrolledPlatform, toSeconds } from '../store/rows.js';
import type { Outcome } from '../store/micro-batch.js';
import type { Database, Device } from '../store/schema.js';
import { anyOfUuids, jsonRecordset } from '../store/json-recordset.js';
import { AttestationError } from './attestation-error.js';
import { issueResult } from './issue-result.js';

export interface IngestDeps {
  db: Kysely<Database>;
  policies: PolicySource;
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
  /** How often the device's policy asks it to report. */
  reportIntervalS: number;
}

export interface IngestItem {
  device: Device;
  claims: EvidenceClaims;
  now: number;
}

const refused = (error: unknown): Outcome<never> => ({ ok: false, error });

/**
 * Stores verified attestations and their evaluations, many devices in one transaction: one
 * statement per step for the whole batch, one commit, and no answer before it. The seq guard
 * is the UPDATE itself, so two replicas racing with the same report accept it once; two
 * reports of one device in one batch are taken highest seq first, as if that one had come
 * first.
 */
export async function ingestBatch(deps: IngestDeps, items: readonly IngestItem[]): Promise<Array<Outcome<IngestResult>>> {
  const outcomes: Array<Outcome<IngestResult> | undefined> = new Array(items.length);
  const candidates: number[] = [];
  items.forEach(({ device, now }, i) => {
    const standing = judge({ policy: deps.policies.forGroup(device.group_name), device: { status: device.status, expires_at: toSeconds(device.expires_at), platform: null, agentVersion: null }, latest: null, previous: [], exceptions: [], now });
    if (standing.verdict === 'revoked') outcomes[i] = refused(new AttestationError('revoked', 'this device is revoked or its enrollment has expired: enroll it again'));
    else candidates.push(i);
  });
  // One report per device per statement: the others are judged against the one taken.
  const taken = new Map<string, number>();
  for (const i of candidates) {
    const item = items[i] as IngestItem;
    const other = taken.get(item.device.id);
    if (other === undefined || (items[other] as IngestItem).claims.seq < item.claims.seq) taken.set(item.device.id, i);
  }
  const chosen = [...taken.values()];

  const evaluated = chosen.length === 0 ? [] : await storeIsolating(deps, chosen.map((i) => items[i] as IngestItem));
  const byDevice = new Map(evaluated.map((e) => [e.deviceId, e]));

  await Promise.all(
    candidates.map(async (i) => {
      const item = items[i] as IngestItem;
      const stored = byDevice.get(item.device.id);
      const winner = items[taken.get(item.device.id) as number] as IngestItem;
      if (stored && 'failed' in stored) {
        outcomes[i] = refused(stored.failed);
        return;
      }
      if (!stored || !('verdict' in stored) || winner !== item) {
        outcomes[i] = refused(refusalOf(item, stored, winner));
        return;
      }
      try {
        const token = await stored.token;
        outcomes[i] = { ok: true, value: { seq: item.claims.seq, verdict: stored.verdict, score: stored.score, checks: stored.checks, token, changed: stored.changed, reportIntervalS: stored.policy.report_interval_s } };
      } catch (error) {
        outcomes[i] = refused(error);
      }
    }),
  );
  return outcomes.map((o) => o ?? refused(new Error('attestation was not processed')));
}

/**
 * One device's report must never fail another's: when a batch's transaction fails, its reports
 * are stored again one at a time, so only the one at fault is refused (and the rest commit). A
 * value the database cannot store is that report's `schema` error. A database that is down fails
 * the whole batch at once: trying each report alone would only queue hundreds of doomed
 * transactions behind the outage.
 */
async function storeIsolating(deps: IngestDeps, items: readonly IngestItem[]): Promise<Stored[]> {
  try {
    return await storeWithRetry(deps, items);
  } catch (error) {
    if (isDatabaseUnavailable(error)) return items.map((item) => ({ deviceId: item.device.id, failed: error }));
    const [only] = items;
    if (items.length === 1 && only) return [{ deviceId: only.device.id, failed: unstorable(error) ?? error }];
    const stored: Stored[] = [];
    for (const item of items) stored.push(...(await storeIsolating(deps, [item])));
    return stored;
  }
}

/** PostgreSQL's data exceptions (class 22: a NUL in text, an invalid escape, a number out of range) are the report's fault. */
function unstorable(error: unknown): AttestationError | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('22')) return null;
  return new AttestationError('schema', `the report holds a value the database cannot store (${(error as Error).message}): send text without NUL characters`);
}

/**
 * Two batches holding reports of the same device (the HTTP fallback, or two replicas) may lock
 * its row in opposite orders; PostgreSQL then aborts one with a deadlock. Nothing of it was
 * stored, so it is run again rather than failing every report in it.
 */
async function storeWithRetry(deps: IngestDeps, items: readonly IngestItem[]): Promise<Stored[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.transaction().execute((trx) => storeBatch(trx, deps, items));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw error;
    }
  }
}

function refusalOf(item: IngestItem, stored: Stored | undefined, winner: IngestItem): AttestationError {
  if (stored && 'revoked' in stored && stored.revoked) return new AttestationError('revoked', 'this device has been revoked');
  const lastSeq = stored && 'verdict' in stored ? winner.claims.seq : stored && 'lastSeq' in stored ? (stored.lastSeq ?? '?') : '?';
  return new AttestationError('replayed_seq', `seq ${item.claims.seq} is not above the last accepted seq ${lastSeq}: each report needs a higher seq`);
}

type Stored =
  | { deviceId: string; verdict: Verdict; score: number; checks: CheckResult[]; changed: IngestResult['changed']; policy: Policy; token: Promise<string> }
  | { deviceId: string; revoked: boolean; lastSeq: number | null }
  | { deviceId: string; failed: unknown };

async function storeBatch(trx: Kysely<Database>, deps: IngestDeps, items: readonly IngestItem[]): Promise<Stored[]> {
  const advanced = await trx
    .updateTable('devices')
    .from(
      jsonRecordset(
        items.map(({ device, claims, now }) => ({ id: device.id, seq: claims.seq, seen: now, agent: claims.swversion[0] })),
        'v',
        { id: 'uuid', seq: 'int8', seen: 'timestamptz', agent: 'text' },
      ),
    )
    .set((eb) => ({ last_seq: eb.ref('v.seq'), last_seen_at: eb.ref('v.seen'), agent_version: eb.ref('v.agent') }))
    .whereRef('devices.id', '=', 'v.id')
    // Names the rows to update by index: joined to the recordset alone, the planner would scan every device.
    .where('devices.id', '=', anyOfUuids(items.map(({ device }) => device.id)))
    .whereRef('devices.last_seq', '<', 'v.seq')
    .where('devices.status', '!=', 'revoked')
    .returning(['devices.id', 'devices.status', 'devices.group_name', 'devices.expires_at'])
    .execute();
  const advancedById = new Map(advanced.map((a) => [a.id, a]));
  const stored: Stored[] = [];

  const behind = items.filter((item) => !advancedById.has(item.device.id)).map((item) => item.device.id);
  if (behind.length > 0) {
    const current = await trx.selectFrom('devices').select(['id', 'status', 'last_seq']).where('id', '=', anyOfUuids(behind)).execute();
    const currentById = new Map(current.map((c) => [c.id, c]));
    for (const id of behind) stored.push({ deviceId: id, revoked: currentById.get(id)?.status === 'revoked', lastSeq: currentById.get(id)?.last_seq ?? null });
  }
  const live = items.filter((item) => advancedById.has(item.device.id));
  if (live.length === 0) return stored;

  // The devices' rows are locked by the UPDATE above, as every standing writer locks them first.
  const ids = live.map((item) => item.device.id);
  const earliest = Math.min(...live.map((item) => item.now));
  const previousById = await previousStandings(trx, ids, earliest);

  const writes: StandingWrite[] = [];
  const resultByDevice = new Map<string, { policy: Policy; token: Promise<string> }>();
  for (const { device, claims, now } of live) {
    const row = advancedById.get(device.id) as (typeof advanced)[number];
    // The group is read in this transaction, so an admin's group change is never judged by the old group's policy.
    const policy: Policy = deps.policies.forGroup(row.group_name);
    const previous = previousById.get(device.id);
    const judgement = judge({
      policy,
      device: { status: row.status, expires_at: toSeconds(row.expires_at), platform: enrolledPlatform(device.platform), agentVersion: claims.swversion[0] },
      latest: { posture: claims.posture, attestedAt: claims.iat },
      previous: previous?.standing?.checks ?? [],
      exceptions: (previous?.exceptions ?? []).filter((e) => e.until > now),
      now,
    });
    // Signed on the thread pool while the batch is written; handed out only after the commit,
    // and dropped unanswered when the transaction fails.
    const token = issueResult(deps.keys, deps.issuer, {
      deviceId: device.id,
      kid: device.kid,
      group: row.group_name,
      verdict: judgement.verdict,
      score: judgement.score,
      checks: judgement.checks,
      policyRef: policyRef(policy),
      nonce: claims.eat_nonce,
      now,
      lifetimeS: Math.min(policy.max_age_s, 2 * policy.report_interval_s),
    });
    token.catch(() => undefined);
    resultByDevice.set(device.id, { policy, token });
    writes.push({
      deviceId: device.id,
      previous: previous?.standing ? { verdict: previous.standing.verdict, verdict_since: previous.standing.verdict_since } : null,
      judgement,
      cause: 'report',
      actor: `device:${device.id}`,
      report: { seq: claims.seq, attestedAt: claims.iat, receivedAt: now, posture: claims.posture },
    });
  }
  const recorded = await recordStandings(trx, writes, Math.max(...live.map((item) => item.now)));
  recorded.forEach(({ deviceId, changed }, i) => {
    const { judgement } = writes[i] as StandingWrite;
    const { policy, token } = resultByDevice.get(deviceId) as { policy: Policy; token: Promise<string> };
    stored.push({ deviceId, verdict: judgement.verdict, score: judgement.score, checks: judgement.checks, changed, policy, token });
  });
  return stored;
}

import type { Posture, Verdict } from '@postern/shared';
import type { Kysely, QueryCreator } from 'kysely';
import type { NewEvent, VerdictCause } from '../events/types.js';
import { recordEvents } from '../journal/record.js';
import { jsonRecordset } from '../store/json-recordset.js';
import type { Database } from '../store/schema.js';
import type { Judgement } from './judge.js';

/** One judgement to store, with what the writer must know to tell whether and why the verdict changed. */
export interface StandingWrite {
  deviceId: string;
  /** The stored standing this judgement replaces, read under the device's row lock; null for a device being enrolled. */
  previous: { verdict: Verdict; verdict_since: Date } | null;
  judgement: Judgement;
  cause: VerdictCause;
  /** Who caused it, for the audit log and the event. */
  actor: string;
  /** A sentence for the audit log (`policy contractors@3 applied`). */
  reason?: string;
  /** The report judged, when the judgement comes from a new one: stored as the latest posture and in history. */
  report?: { seq: number; attestedAt: number; receivedAt: number; posture: Posture };
}

export interface Recorded {
  deviceId: string;
  changed: { from: Verdict; to: Verdict } | null;
}

/**
 * The one writer of standings. In the caller's transaction (holding the devices' row locks) it
 * stores, for many devices in a few statements: the latest posture and report history (for new
 * reports), the standing, and, for every verdict that changed, its audit entry and event, after
 * `causes` (the lifecycle events that led to these judgements, such as `device.approved`). An
 * enrollment that ends by itself is recorded as `device.revoked` with reason `expired`.
 */
export async function recordStandings(trx: Kysely<Database>, writes: readonly StandingWrite[], now: number, causes: readonly NewEvent[] = []): Promise<Recorded[]> {
  if (!trx.isTransaction) throw new Error('recordStandings needs the transaction that holds the devices locked');
  const reports = writes.filter((w) => w.report);
  const judged = jsonRecordset(
    writes.map(({ deviceId, previous, judgement }) => ({
      device_id: deviceId,
      verdict: judgement.verdict,
      score: judgement.score,
      checks: judgement.checks,
      policy_id: judgement.policy,
      evaluated_at: now,
      verdict_since: previous && previous.verdict === judgement.verdict ? previous.verdict_since.getTime() / 1000 : now,
      next_change_at: judgement.nextChangeAt,
    })),
    's',
    { device_id: 'uuid', verdict: 'text', score: 'int4', checks: 'jsonb', policy_id: 'text', evaluated_at: 'timestamptz', verdict_since: 'timestamptz', next_change_at: 'timestamptz' },
  );
  const storeStandings = (db: QueryCreator<Database>) =>
    db
      .insertInto('device_standing')
      .columns(['device_id', 'verdict', 'score', 'checks', 'policy_id', 'evaluated_at', 'verdict_since', 'next_change_at'])
      .expression((eb) => eb.selectFrom(judged).select(['s.device_id', 's.verdict', 's.score', 's.checks', 's.policy_id', 's.evaluated_at', 's.verdict_since', 's.next_change_at']))
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet((eb) => ({
          verdict: eb.ref('excluded.verdict'),
          score: eb.ref('excluded.score'),
          checks: eb.ref('excluded.checks'),
          policy_id: eb.ref('excluded.policy_id'),
          evaluated_at: eb.ref('excluded.evaluated_at'),
          verdict_since: eb.ref('excluded.verdict_since'),
          next_change_at: eb.ref('excluded.next_change_at'),
        })),
      );
  if (reports.length > 0) {
    const reported = jsonRecordset(
      reports.map(({ deviceId, report, judgement }) => {
        const r = report as NonNullable<StandingWrite['report']>;
        return { device_id: deviceId, seq: r.seq, attested_at: r.attestedAt, received_at: r.receivedAt, posture: r.posture, verdict: judgement.verdict, score: judgement.score };
      }),
      'r',
      { device_id: 'uuid', seq: 'int8', attested_at: 'timestamptz', received_at: 'timestamptz', posture: 'jsonb', verdict: 'text', score: 'int4' },
    );
    // One statement for the whole batch (every data-modifying CTE runs, in one round trip): the
    // standings, the latest postures and the history. The reports are read once (a CTE
    // referenced twice is materialised), so each posture, most of a report's bytes, crosses the
    // wire and is parsed into jsonb once for both the latest posture and the history row.
    await trx
      .with('standing', (db) => storeStandings(db).returning('device_standing.device_id'))
      .with('r', (db) => db.selectFrom(reported).selectAll())
      .with('latest', (db) =>
        db
          .insertInto('device_posture')
          .columns(['device_id', 'seq', 'attested_at', 'received_at', 'posture'])
          .expression((eb) => eb.selectFrom('r').select(['r.device_id', 'r.seq', 'r.attested_at', 'r.received_at', 'r.posture']))
          .onConflict((oc) =>
            oc.column('device_id').doUpdateSet((eb) => ({
              seq: eb.ref('excluded.seq'),
              attested_at: eb.ref('excluded.attested_at'),
              received_at: eb.ref('excluded.received_at'),
              posture: eb.ref('excluded.posture'),
            })),
          )
          .returning('device_posture.device_id'),
      )
      .insertInto('attestations')
      .columns(['device_id', 'seq', 'attested_at', 'received_at', 'posture', 'verdict', 'score'])
      .expression((eb) => eb.selectFrom('r').select(['r.device_id', 'r.seq', 'r.attested_at', 'r.received_at', 'r.posture', 'r.verdict', 'r.score']))
      .execute();
  } else if (writes.length > 0) {
    await storeStandings(trx).execute();
  }

  const events: NewEvent[] = [...causes];
  // A revocation its causes already tell of (pending expiry, relink, unenrollment) is not told again as `expired`.
  const revokedByCause = new Set(causes.filter((c) => c.type === 'device.revoked').map((c) => c.deviceId));
  const recorded = writes.map((w): Recorded => {
    // A device's first standing is told by its `device.enrolled` event, not as a change.
    if (!w.previous) return { deviceId: w.deviceId, changed: null };
    const from = w.previous.verdict;
    const to = w.judgement.verdict;
    if (from === to) return { deviceId: w.deviceId, changed: null };
    if (to === 'revoked' && w.cause === 'time' && !revokedByCause.has(w.deviceId)) events.push({ type: 'device.revoked', actor: 'postern', deviceId: w.deviceId, data: { reason: 'expired', from } });
    events.push({
      type: 'device.verdict_changed',
      actor: w.actor,
      deviceId: w.deviceId,
      data: { from, to, score: w.judgement.score, failing: w.judgement.failing, cause: w.cause, policy: w.judgement.policy, ...(w.reason ? { reason: w.reason } : {}) },
    });
    return { deviceId: w.deviceId, changed: { from, to } };
  });
  // Last: the journal lock is the last lock this transaction takes.
  await recordEvents(trx, events);
  return recorded;
}

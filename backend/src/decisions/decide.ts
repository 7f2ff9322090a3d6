import type { CheckResult, Verdict } from '@postern/shared';
import { uuid } from '@postern/shared';
import type { Kysely } from 'kysely';
import { checksOf, toSeconds, verdictOf } from '../store/rows.js';
import type { Database, Device } from '../store/schema.js';

export interface Decision {
  device: Device;
  group: string;
  verdict: Verdict;
  score: number;
  checks: CheckResult[];
  policy: string | null;
  evaluated_at: number | null;
  /** When this verdict may change by itself (staleness, grace end, exception end, device expiry), unless a report comes first. */
  expires_at: number | null;
}

/** A decision with only what forward-auth and the compliance API read of the device: what the decision cache keeps. */
export interface Standing extends Omit<Decision, 'device'> {
  device: Pick<Device, 'id' | 'kid' | 'status' | 'hostname'>;
}

export function standingOf(decision: Decision): Standing {
  const { id, kid, status, hostname } = decision.device;
  return { ...decision, device: { id, kid, status, hostname } };
}

/** The device's standing now, as the judge last decided and the event stream emitted it. */
export async function decide(db: Kysely<Database>, deviceId: string): Promise<Decision | null> {
  const [decision] = await decideMany(db, [{ deviceId }]);
  return decision ?? null;
}

function standings(db: Kysely<Database>) {
  return db
    .selectFrom('devices')
    .innerJoin('device_standing', 'device_standing.device_id', 'devices.id')
    .selectAll('devices')
    .select(['device_standing.verdict', 'device_standing.score', 'device_standing.checks', 'device_standing.policy_id', 'device_standing.evaluated_at', 'device_standing.next_change_at']);
}

type StandingRow = Awaited<ReturnType<ReturnType<typeof standings>['execute']>>[number];

function decisionOf(row: StandingRow): Decision {
  const { verdict, score, checks, policy_id, evaluated_at, next_change_at, ...device } = row;
  return {
    device,
    group: device.group_name,
    verdict: verdictOf(verdict),
    score,
    checks: checksOf({ checks }),
    policy: policy_id,
    evaluated_at: toSeconds(evaluated_at),
    expires_at: toSeconds(next_change_at),
  };
}

/** Verdicts of many devices in one query each page: the materialised standing, as it was emitted. Null for an unknown id. */
export async function decideMany(db: Kysely<Database>, asked: ReadonlyArray<{ deviceId: string }>): Promise<Array<Decision | null>> {
  const ids = [...new Set(asked.map((a) => a.deviceId).filter((id) => uuid.safeParse(id).success))];
  if (ids.length === 0) return asked.map(() => null);
  const byId = new Map<string, Decision>();
  // A statement binds at most 65,535 parameters.
  for (let i = 0; i < ids.length; i += 10_000) {
    const rows = await standings(db)
      .where('devices.id', 'in', ids.slice(i, i + 10_000))
      .execute();
    for (const row of rows) byId.set(row.id, decisionOf(row));
  }
  return asked.map(({ deviceId }) => byId.get(deviceId) ?? null);
}

/** One page of every device's decision in id order, after `after` (the last id of the previous page): the decision cache's start. */
export async function decidePage(db: Kysely<Database>, after: string | null, limit: number): Promise<Decision[]> {
  let query = standings(db).orderBy('devices.id').limit(limit);
  if (after !== null) query = query.where('devices.id', '>', after);
  return (await query.execute()).map(decisionOf);
}

import { sql, type Kysely } from 'kysely';
import type { CheckResult, Verdict } from '@postern/shared';
import type { ActiveException } from '../policy/evaluate.js';
import { anyOfUuids } from '../store/json-recordset.js';
import { checksOf, verdictOf } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { exceptionOf, runningExceptions, type RunningRow } from './active-exceptions.js';

/** What a new judgement of a device builds on: its stored standing (null before its first) and its running exceptions. */
export interface PreviousStanding {
  standing: { verdict: Verdict; verdict_since: Date; checks: CheckResult[] } | null;
  exceptions: ActiveException[];
}

/**
 * The stored standings and running exceptions of these devices in one statement, one round trip
 * instead of two: a batch of reports pays each round trip while it holds its transaction open,
 * which at light load is most of the time to a result. Call it after the devices' rows are
 * locked, as its own statement: its snapshot then holds what the writers before it committed.
 */
export async function previousStandings(trx: Kysely<Database>, deviceIds: readonly string[], now: number): Promise<Map<string, PreviousStanding>> {
  const byDevice = new Map<string, PreviousStanding>();
  if (deviceIds.length === 0) return byDevice;
  // The exceptions are grouped per device in one pass over the batch's ids (not a subquery per
  // device), and a device without any reads null, so most rows carry no JSON to parse.
  const running = runningExceptions(trx, now).where('device_id', '=', anyOfUuids(deviceIds)).as('x');
  const rows = await trx
    .selectFrom('devices as d')
    .leftJoin('device_standing as s', 's.device_id', 'd.id')
    .leftJoin(
      (eb) => eb.selectFrom(running).select(['x.device_id', sql<RunningRow[]>`json_agg(x)`.as('list')]).groupBy('x.device_id').as('e'),
      (join) => join.onRef('e.device_id', '=', 'd.id'),
    )
    .select(['d.id', 's.verdict', 's.verdict_since', 's.checks', 'e.list'])
    .where('d.id', '=', anyOfUuids(deviceIds))
    .execute();
  for (const r of rows) {
    byDevice.set(r.id, {
      standing: r.verdict === null || r.verdict_since === null ? null : { verdict: verdictOf(r.verdict), verdict_since: r.verdict_since, checks: checksOf(r) },
      exceptions: (r.list ?? []).map(exceptionOf),
    });
  }
  return byDevice;
}

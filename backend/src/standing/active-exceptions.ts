import type { Kysely } from 'kysely';
import type { ActiveException } from '../policy/evaluate.js';
import { anyOfUuids } from '../store/json-recordset.js';
import type { Database } from '../store/schema.js';

/** Exceptions not revoked that run past `now`: the one meaning of "active" for `activeExceptions` and `previousStandings`. */
export function runningExceptions(db: Kysely<Database>, now: number) {
  return db
    .selectFrom('device_exceptions')
    .select(['id', 'device_id', 'check_id', 'until', 'reason', 'granted_by'])
    .where('revoked_at', 'is', null)
    .where('until', '>', new Date(now * 1000));
}

export type RunningRow = { id: string; device_id: string; check_id: string; until: Date | string; reason: string; granted_by: string };

/** A row of `runningExceptions` as the evaluator takes it; `until` is a Date read as a column and ISO text read inside JSON. */
export const exceptionOf = (r: RunningRow): ActiveException => ({ id: r.id, check_id: r.check_id, until: Math.floor(new Date(r.until).getTime() / 1000), reason: r.reason, granted_by: r.granted_by });

/**
 * The exceptions of these devices that still run at `now`, by device. The ids are one parameter
 * (a batch of reports names up to 250 devices): the statement's text stays the same whatever the
 * batch's size, instead of one placeholder per device to build, send, parse and plan.
 */
export async function activeExceptions(db: Kysely<Database>, deviceIds: readonly string[], now: number): Promise<Map<string, ActiveException[]>> {
  const byDevice = new Map<string, ActiveException[]>();
  if (deviceIds.length === 0) return byDevice;
  const rows = await runningExceptions(db, now).where('device_id', '=', anyOfUuids(deviceIds)).execute();
  for (const r of rows) {
    const list = byDevice.get(r.device_id) ?? [];
    list.push(exceptionOf(r));
    byDevice.set(r.device_id, list);
  }
  return byDevice;
}

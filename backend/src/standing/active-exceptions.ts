import type { Kysely } from 'kysely';
import type { ActiveException } from '../policy/evaluate.js';
import { anyOfUuids } from '../store/json-recordset.js';
import type { Database } from '../store/schema.js';

/**
 * The exceptions of these devices that still run at `now`, by device. The ids are one parameter
 * (a batch of reports names up to 250 devices): the statement's text stays the same whatever the
 * batch's size, instead of one placeholder per device to build, send, parse and plan.
 */
export async function activeExceptions(db: Kysely<Database>, deviceIds: readonly string[], now: number): Promise<Map<string, ActiveException[]>> {
  const byDevice = new Map<string, ActiveException[]>();
  if (deviceIds.length === 0) return byDevice;
  const rows = await db
    .selectFrom('device_exceptions')
    .select(['id', 'device_id', 'check_id', 'until', 'reason', 'granted_by'])
    .where('device_id', '=', anyOfUuids(deviceIds))
    .where('revoked_at', 'is', null)
    .where('until', '>', new Date(now * 1000))
    .execute();
  for (const r of rows) {
    const list = byDevice.get(r.device_id) ?? [];
    list.push({ id: r.id, check_id: r.check_id, until: Math.floor(r.until.getTime() / 1000), reason: r.reason, granted_by: r.granted_by });
    byDevice.set(r.device_id, list);
  }
  return byDevice;
}

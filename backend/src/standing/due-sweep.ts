import type { Kysely } from 'kysely';
import type { NewEvent } from '../events/types.js';
import { toSeconds } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { rejudgeDevices } from './rejudge.js';
import type { PolicySource } from '../policy/types.js';

export const SWEEP_BATCH = 200;

/**
 * Turns time into events: judges again every device whose standing is due to change by itself
 * (staleness, grace end, exception end, enrollment end) or that has an exception which ended
 * and was not yet recorded, and revokes pending enrollments left undecided past `pending_until`. Every replica runs it every second; each device is claimed by one
 * of them (`FOR UPDATE SKIP LOCKED`), and the writer records a change only against the stored
 * verdict read under that lock, so each transition is recorded exactly once. Returns how many
 * devices it judged; a full batch means more are due.
 */
export async function sweepDue(deps: { db: Kysely<Database>; policies: PolicySource; now(): number }, limit = SWEEP_BATCH): Promise<number> {
  const now = deps.now();
  const at = new Date(now * 1000);
  // Looked up outside a transaction: most seconds nothing is due, and that costs two indexed reads.
  const [due, ended, unanswered] = await Promise.all([
    deps.db.selectFrom('device_standing').select('device_id').where('next_change_at', '<=', at).orderBy('next_change_at').limit(limit).execute(),
    deps.db.selectFrom('device_exceptions').select('device_id').where('ended_processed_at', 'is', null).where('until', '<=', at).limit(limit).execute(),
    // Read from the device, not only its standing: a report judged without the pending end must not hide it.
    deps.db.selectFrom('devices').select('id as device_id').where('status', '=', 'pending_approval').where('pending_until', '<=', at).limit(limit).execute(),
  ]);
  const candidates = [...new Set([...due, ...ended, ...unanswered].map((r) => r.device_id))];
  if (candidates.length === 0) return 0;
  return deps.db.transaction().execute(async (trx) => {
    // Devices another replica (or a report) holds are left for the next round; the writer
    // re-reads each standing under the lock, so a device no longer due is judged harmlessly.
    const locked = await trx.selectFrom('devices').select('id').where('id', 'in', candidates).orderBy('id').forUpdate().skipLocked().execute();
    const ids = locked.map((r) => r.id);
    if (ids.length === 0) return 0;
    const claimed = await trx
      .updateTable('device_exceptions')
      .set({ ended_processed_at: at })
      .where('device_id', 'in', ids)
      .where('ended_processed_at', 'is', null)
      .where('until', '<=', at)
      .returningAll()
      .execute();
    const endings: NewEvent[] = claimed.map((row) => ({
      type: 'exception.ended',
      actor: 'postern',
      deviceId: row.device_id,
      data: { exception_id: row.id, check: row.check_id, until: toSeconds(row.until) ?? now, reason: 'expired' },
    }));
    // Pending enrollments nobody approved or denied in time: revoked, reason `pending_expired`.
    const expiredPending = await trx
      .updateTable('devices')
      .set({ status: 'revoked', revoked_at: at, pending_until: null })
      .where('id', 'in', ids)
      .where('status', '=', 'pending_approval')
      .where('pending_until', '<=', at)
      .returning('id')
      .execute();
    const pendingEnds: NewEvent[] = expiredPending.map((row) => ({ type: 'device.revoked', actor: 'postern', deviceId: row.id, data: { reason: 'pending_expired', from: 'pending_approval' } }));
    const withEnded = new Set(claimed.map((r) => r.device_id));
    await rejudgeDevices(trx, deps.policies, [...withEnded], { now, cause: 'exception', actor: 'postern', reason: 'exception ended', causes: [...endings, ...pendingEnds.filter((e) => withEnded.has(e.deviceId ?? ''))] });
    await rejudgeDevices(trx, deps.policies, ids.filter((id) => !withEnded.has(id)), { now, cause: 'time', actor: 'postern', causes: pendingEnds.filter((e) => !withEnded.has(e.deviceId ?? '')) });
    return ids.length;
  });
}

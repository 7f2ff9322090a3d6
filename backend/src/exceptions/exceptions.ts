import type { Kysely } from 'kysely';
import { uuid, type ErrorCode } from '@postern/shared';
import { toSeconds } from '../store/rows.js';
import type { PolicyDeps } from '../policy-lifecycle/apply.js';
import { catalog } from '../policy/catalog.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import type { Database, DeviceException } from '../store/schema.js';

/** The longest an exception may run: break-glass is temporary by definition. */
export const MAX_EXCEPTION_S = 366 * 86400;

/** A refused grant or revocation, with the protocol's error code (its HTTP status comes from the shared table). */
export class ExceptionRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ExceptionView {
  id: string;
  device_id: string;
  check: string;
  until: number;
  reason: string;
  granted_by: string;
  granted_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
  active: boolean;
}

export function exceptionView(row: DeviceException, now: number): ExceptionView {
  const until = toSeconds(row.until) ?? 0;
  return {
    id: row.id,
    device_id: row.device_id,
    check: row.check_id,
    until,
    reason: row.reason,
    granted_by: row.granted_by,
    granted_at: toSeconds(row.granted_at) ?? 0,
    revoked_at: toSeconds(row.revoked_at),
    revoked_by: row.revoked_by,
    active: row.revoked_at === null && until > now,
  };
}

/**
 * Break-glass: waives one check for one device until a time. In one transaction: the exception,
 * its `exception.granted` event and the device judged again (cause `exception`); the stream
 * fan-out tells its agent to report. The check's result carries the exception while it runs.
 */
export async function grantException(deps: PolicyDeps, input: { deviceId: string; check: string; until: number; reason: string; actor: string }): Promise<ExceptionView> {
  const now = deps.now();
  if (!uuid.safeParse(input.deviceId).success) throw new ExceptionRefused('unknown_device', `no device ${input.deviceId}`);
  if (!catalog.has(input.check)) throw new ExceptionRefused('unknown_check', `unknown check "${input.check}"; the catalog has ${[...catalog.keys()].join(', ')}`);
  if (input.until <= now) throw new ExceptionRefused('malformed', 'the exception must end in the future');
  if (input.until - now > MAX_EXCEPTION_S) throw new ExceptionRefused('malformed', 'an exception may run at most 366 days');
  const row = await deps.db.transaction().execute(async (trx) => {
    // The device's row first, as every writer of its standing locks it (see standing/rejudge.ts).
    const device = await trx.selectFrom('devices').select(['id', 'hostname']).where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!device) throw new ExceptionRefused('unknown_device', `no device ${input.deviceId}`);
    const inserted = await trx
      .insertInto('device_exceptions')
      .values({ device_id: input.deviceId, check_id: input.check, until: new Date(input.until * 1000), reason: input.reason, granted_by: input.actor })
      .returningAll()
      .executeTakeFirstOrThrow();
    await rejudgeDevices(trx, deps.policies, [input.deviceId], {
      now,
      cause: 'exception',
      actor: input.actor,
      reason: `exception ${inserted.id} granted for ${input.check}`,
      causes: [{ type: 'exception.granted', actor: input.actor, deviceId: input.deviceId, data: { exception_id: inserted.id, check: input.check, until: input.until, reason: input.reason } }],
    });
    return inserted;
  });
  return exceptionView(row, now);
}

/** Ends an exception before its time: recorded as `exception.ended` with reason `revoked`, and the device judged again. */
export async function revokeException(deps: PolicyDeps, input: { id: string; actor: string }): Promise<ExceptionView> {
  if (!uuid.safeParse(input.id).success) throw new ExceptionRefused('unknown_exception', `no exception ${input.id}`);
  const now = deps.now();
  const row = await deps.db.transaction().execute(async (trx) => {
    const owner = await trx.selectFrom('device_exceptions').select('device_id').where('id', '=', input.id).executeTakeFirst();
    if (!owner) throw new ExceptionRefused('unknown_exception', `no exception ${input.id}`);
    // Device row, then exception row: the order of the due-time sweep, so the two never deadlock.
    await trx.selectFrom('devices').select('id').where('id', '=', owner.device_id).forUpdate().executeTakeFirst();
    const current = await trx.selectFrom('device_exceptions').selectAll().where('id', '=', input.id).forUpdate().executeTakeFirstOrThrow();
    if (current.revoked_at !== null || current.until.getTime() <= now * 1000) return current;
    const updated = await trx
      .updateTable('device_exceptions')
      .set({ revoked_at: new Date(now * 1000), revoked_by: input.actor, ended_processed_at: new Date(now * 1000) })
      .where('id', '=', input.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await rejudgeDevices(trx, deps.policies, [current.device_id], {
      now,
      cause: 'exception',
      actor: input.actor,
      reason: `exception ${current.id} revoked`,
      causes: [{ type: 'exception.ended', actor: input.actor, deviceId: current.device_id, data: { exception_id: current.id, check: current.check_id, until: toSeconds(current.until) ?? now, reason: 'revoked' } }],
    });
    return updated;
  });
  return exceptionView(row, now);
}

export async function listExceptions(db: Kysely<Database>, filter: { deviceId?: string; includeEnded?: boolean }, now: number): Promise<ExceptionView[]> {
  let query = db.selectFrom('device_exceptions').selectAll().orderBy('granted_at', 'desc').limit(1000);
  if (filter.deviceId) query = query.where('device_id', '=', filter.deviceId);
  if (!filter.includeEnded) query = query.where('revoked_at', 'is', null).where('until', '>', new Date(now * 1000));
  return (await query.execute()).map((r) => exceptionView(r, now));
}

import type { Kysely } from 'kysely';
import { uuid, type ErrorCode } from '@postern/shared';
import { appendAudit, appendAudits } from '../audit/append.js';
import { toSeconds } from '../devices/repository.js';
import type { PolicyDeps } from '../policy/apply.js';
import { catalog } from '../policy/catalog.js';
import { reevaluate } from '../policy/reevaluate.js';
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
 * Break-glass: waives one check for one device until a time. Audited; the device is judged again
 * at once and its agent told to report. The check's result carries the exception while it runs.
 */
export async function grantException(deps: PolicyDeps, input: { deviceId: string; check: string; until: number; reason: string; actor: string }): Promise<ExceptionView> {
  const now = deps.now();
  if (!uuid.safeParse(input.deviceId).success) throw new ExceptionRefused('unknown_device', `no device ${input.deviceId}`);
  if (!catalog.has(input.check)) throw new ExceptionRefused('unknown_check', `unknown check "${input.check}"; the catalog has ${[...catalog.keys()].join(', ')}`);
  if (input.until <= now) throw new ExceptionRefused('malformed', 'the exception must end in the future');
  if (input.until - now > MAX_EXCEPTION_S) throw new ExceptionRefused('malformed', 'an exception may run at most 366 days');
  const row = await deps.db.transaction().execute(async (trx) => {
    const device = await trx.selectFrom('devices').select(['id', 'hostname']).where('id', '=', input.deviceId).executeTakeFirst();
    if (!device) throw new ExceptionRefused('unknown_device', `no device ${input.deviceId}`);
    const inserted = await trx
      .insertInto('device_exceptions')
      .values({ device_id: input.deviceId, check_id: input.check, until: new Date(input.until * 1000), reason: input.reason, granted_by: input.actor })
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: input.actor, kind: 'exception.granted', deviceId: input.deviceId, detail: { exception_id: inserted.id, check: input.check, until: input.until, reason: input.reason } });
    return inserted;
  });
  await reevaluate(deps, { deviceIds: [input.deviceId] }, `exception ${row.id} granted for ${input.check}`);
  await deps.events.publish({ type: 'collect.devices', device_ids: [input.deviceId] });
  return exceptionView(row, now);
}

/** Ends an exception before its time. */
export async function revokeException(deps: PolicyDeps, input: { id: string; actor: string }): Promise<ExceptionView> {
  if (!uuid.safeParse(input.id).success) throw new ExceptionRefused('unknown_exception', `no exception ${input.id}`);
  const now = deps.now();
  const row = await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('device_exceptions').selectAll().where('id', '=', input.id).forUpdate().executeTakeFirst();
    if (!current) throw new ExceptionRefused('unknown_exception', `no exception ${input.id}`);
    if (current.revoked_at !== null || current.until.getTime() <= now * 1000) return current;
    const updated = await trx
      .updateTable('device_exceptions')
      .set({ revoked_at: new Date(now * 1000), revoked_by: input.actor, ended_processed_at: new Date(now * 1000) })
      .where('id', '=', input.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: input.actor, kind: 'exception.revoked', deviceId: current.device_id, detail: { exception_id: current.id, check: current.check_id } });
    return updated;
  });
  await reevaluate(deps, { deviceIds: [row.device_id] }, `exception ${row.id} revoked`);
  await deps.events.publish({ type: 'collect.devices', device_ids: [row.device_id] });
  return exceptionView(row, now);
}

export async function listExceptions(db: Kysely<Database>, filter: { deviceId?: string; includeEnded?: boolean }, now: number): Promise<ExceptionView[]> {
  let query = db.selectFrom('device_exceptions').selectAll().orderBy('granted_at', 'desc').limit(1000);
  if (filter.deviceId) query = query.where('device_id', '=', filter.deviceId);
  if (!filter.includeEnded) query = query.where('revoked_at', 'is', null).where('until', '>', new Date(now * 1000));
  return (await query.execute()).map((r) => exceptionView(r, now));
}

/**
 * Exceptions stop applying on their own at `until` (verdicts are derived at every read). This
 * sweep, run every few seconds by every replica, records it: each ended exception is claimed by
 * one replica (`FOR UPDATE SKIP LOCKED`), audited as `exception.ended`, and its device judged again.
 */
export async function sweepEndedExceptions(deps: PolicyDeps): Promise<number> {
  const now = deps.now();
  const ended = await deps.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('device_exceptions')
      .set({ ended_processed_at: new Date(now * 1000) })
      .where('id', 'in', (eb) =>
        eb.selectFrom('device_exceptions').select('id').where('ended_processed_at', 'is', null).where('until', '<=', new Date(now * 1000)).limit(100).forUpdate().skipLocked(),
      )
      .returningAll()
      .execute();
    await appendAudits(
      trx,
      claimed.map((row) => ({ actor: 'postern', kind: 'exception.ended' as const, deviceId: row.device_id, detail: { exception_id: row.id, check: row.check_id, until: toSeconds(row.until) } })),
    );
    return claimed;
  });
  if (ended.length === 0) return 0;
  const deviceIds = [...new Set(ended.map((r) => r.device_id))];
  await reevaluate(deps, { deviceIds }, 'exception ended');
  for (let i = 0; i < deviceIds.length; i += 100) await deps.events.publish({ type: 'collect.devices', device_ids: deviceIds.slice(i, i + 100) });
  return ended.length;
}

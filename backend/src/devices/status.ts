import { uuid } from '@postern/shared';
import type { NewEvent } from '../events/types.js';
import type { PolicyDeps } from '../policy-lifecycle/apply.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import type { Device } from '../store/schema.js';

export type StatusChange = 'approve' | 'deny' | 'revoke';

export class StatusRefused extends Error {
  constructor(
    readonly code: 'unknown_device' | 'not_pending' | 'relink_required' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

/**
 * An admin's decision about a device: approve or deny a pending enrollment, or revoke. In one
 * transaction: the new status, its event (`device.approved`, `device.denied`, `device.revoked`
 * with reason `admin`), and the device judged again (cause `admin`). Revoking a revoked device
 * changes nothing. The stream fan-out of every replica acts on the event (closing streams with
 * 4403, or asking an approved agent to report).
 */
export async function changeDeviceStatus(deps: PolicyDeps, input: { deviceId: string; change: StatusChange; actor: string; reason?: string }): Promise<Device> {
  const { deviceId, change, actor } = input;
  if (!uuid.safeParse(deviceId).success) throw new StatusRefused('unknown_device', `no device ${deviceId}`);
  // A denial is read later by someone who was not there: it must say why.
  if (change === 'deny' && !input.reason?.trim()) throw new StatusRefused('malformed', `say why device ${deviceId} is denied (--reason, "reason"): the audit log keeps it`);
  return deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('devices').selectAll().where('id', '=', deviceId).forUpdate().executeTakeFirst();
    if (!current) throw new StatusRefused('unknown_device', `no device ${deviceId}`);
    if (change !== 'revoke' && current.status !== 'pending_approval') {
      throw new StatusRefused('not_pending', `device ${deviceId} is ${current.status}, not awaiting approval: only a pending device can be ${change === 'approve' ? 'approved' : 'denied'}`);
    }
    if (change === 'approve' && current.relink_of !== null) {
      throw new StatusRefused(
        'relink_required',
        `device ${deviceId} enrolled from the machine of device ${current.relink_of}, which is still enrolled: confirm it replaces that one with \`device relink ${deviceId}\`, or refuse it with \`device deny ${deviceId} --reason …\``,
      );
    }
    if (current.status === 'revoked') return current;
    const now = deps.now();
    const at = new Date(now * 1000);
    const updated = await trx
      .updateTable('devices')
      .set(change === 'approve' ? { status: 'active', approved_at: at, pending_until: null } : { status: 'revoked', revoked_at: at, pending_until: null })
      .where('id', '=', deviceId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const note = input.reason?.trim() ? { note: input.reason.trim() } : {};
    const event: NewEvent =
      change === 'approve'
        ? { type: 'device.approved', actor, deviceId, data: { from: 'pending_approval', to: 'active', ...note } }
        : change === 'deny'
          ? { type: 'device.denied', actor, deviceId, data: { reason: input.reason?.trim() ?? null } }
          : { type: 'device.revoked', actor, deviceId, data: { reason: 'admin', from: current.status, ...note } };
    await rejudgeDevices(trx, deps.policies, [deviceId], { now, cause: 'admin', actor, reason: `device ${change === 'approve' ? 'approved' : change === 'deny' ? 'denied' : 'revoked'}`, causes: [event] });
    return updated;
  });
}

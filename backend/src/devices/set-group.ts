import { uuid } from '@postern/shared';
import type { PolicyDeps } from '../policy-lifecycle/apply.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import type { Device } from '../store/schema.js';

/**
 * Moves a device to another group. In one transaction: the move, its `device.group_changed`
 * event, and the device judged again by the new group's policy (cause `group`). Its agent is
 * told to report by the stream fan-out, on the event.
 */
export async function setDeviceGroup(deps: PolicyDeps, input: { deviceId: string; group: string; actor: string }): Promise<Device | null> {
  if (!uuid.safeParse(input.deviceId).success) return null;
  return deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('devices').selectAll().where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!current || current.group_name === input.group) return current ?? null;
    const updated = await trx.updateTable('devices').set({ group_name: input.group }).where('id', '=', input.deviceId).returningAll().executeTakeFirstOrThrow();
    await rejudgeDevices(trx, deps.policies, [input.deviceId], {
      now: deps.now(),
      cause: 'group',
      actor: input.actor,
      reason: `group changed to ${input.group}`,
      causes: [{ type: 'device.group_changed', actor: input.actor, deviceId: input.deviceId, data: { from: current.group_name, to: input.group } }],
    });
    return updated;
  });
}

import { uuid } from '@postern/shared';
import { appendAudit } from '../audit/append.js';
import type { PolicyDeps } from '../policy/apply.js';
import { reevaluate } from '../policy/reevaluate.js';
import type { Device } from '../store/schema.js';

/**
 * Moves a device to another group (audited). Its verdict is judged again at once by the new
 * group's policy, and its agent is told to report.
 */
export async function setDeviceGroup(deps: PolicyDeps, input: { deviceId: string; group: string; actor: string }): Promise<Device | null> {
  if (!uuid.safeParse(input.deviceId).success) return null;
  const device = await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('devices').selectAll().where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!current || current.group_name === input.group) return current ?? null;
    const updated = await trx.updateTable('devices').set({ group_name: input.group }).where('id', '=', input.deviceId).returningAll().executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: input.actor, kind: 'device.group_changed', deviceId: input.deviceId, detail: { from: current.group_name, to: input.group } });
    return updated;
  });
  if (!device) return null;
  await reevaluate(deps, { deviceIds: [device.id] }, `group changed to ${input.group}`);
  await deps.events.publish({ type: 'collect.devices', device_ids: [device.id] });
  return device;
}

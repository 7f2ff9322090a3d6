import type { Transaction } from 'kysely';
import { uuid } from '@postern/shared';
import type { NewEvent } from '../events/types.js';
import { checkEndDateRules, groupRules } from '../groups/settings.js';
import { HttpError } from '../http/http-error.js';
import type { PolicyDeps } from '../policy-lifecycle/apply.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import { toSeconds } from '../store/rows.js';
import type { Database, Device } from '../store/schema.js';

/**
 * An administrator's (or the device's own) change to a device's record, each in one transaction
 * with its event and the device judged again through the one writer: a new end date, an owner,
 * a change reference, a relink, an unenrollment.
 */

const noDevice = (id: string) => new HttpError('unknown_device', `no device ${id}: \`device list\` shows every device's id`);

/** The devices' rows, locked in id order as every writer locks them; throws for an unknown id. */
async function lockDevices(trx: Transaction<Database>, ids: readonly string[]): Promise<Map<string, Device>> {
  for (const id of ids) if (!uuid.safeParse(id).success) throw noDevice(id);
  const rows = await trx.selectFrom('devices').selectAll().where('id', 'in', [...ids]).orderBy('id').forUpdate().execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of ids) if (!byId.has(id)) throw noDevice(id);
  return byId;
}

/**
 * Sets when a device's access ends (`device extend`). Only a device whose access has not ended:
 * a revoked or expired device stays so (it enrolls again). The end must lie in the future and
 * within the group's maximum lifetime counted from now.
 */
export async function extendDevice(deps: PolicyDeps, input: { deviceId: string; until: number; actor: string; reason?: string }): Promise<Device> {
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const current = (await lockDevices(trx, [input.deviceId])).get(input.deviceId) as Device;
    const from = toSeconds(current.expires_at);
    if (current.status === 'revoked') throw new HttpError('enrollment_ended', `device ${current.id} is revoked, and a revoked device stays revoked: enroll the machine again`);
    if (from !== null && from <= now) throw new HttpError('enrollment_ended', `device ${current.id}'s access ended at ${new Date(from * 1000).toISOString()}, and an ended enrollment stays ended: enroll the machine again`);
    if (input.until <= now) throw new HttpError('malformed', `the new end ${new Date(input.until * 1000).toISOString()} is not in the future: give a later time or a duration such as 30d`);
    checkEndDateRules(await groupRules(trx, current.group_name), input.until, now);
    const updated = await trx.updateTable('devices').set({ expires_at: new Date(input.until * 1000) }).where('id', '=', current.id).returningAll().executeTakeFirstOrThrow();
    await rejudgeDevices(trx, deps.policies, [current.id], {
      now,
      cause: 'admin',
      actor: input.actor,
      reason: `access extended to ${new Date(input.until * 1000).toISOString()}`,
      causes: [{ type: 'device.extended', actor: input.actor, deviceId: current.id, data: { from, to: input.until, ...(input.reason?.trim() ? { note: input.reason.trim() } : {}) } }],
    });
    return updated;
  });
}

/** Sets a device's owner or change reference; setting the value it has changes nothing. */
export async function setDeviceDetail(deps: PolicyDeps, input: { deviceId: string; field: 'owner' | 'change_ref'; value: string; actor: string }): Promise<Device> {
  return deps.db.transaction().execute(async (trx) => {
    const current = (await lockDevices(trx, [input.deviceId])).get(input.deviceId) as Device;
    const from = current[input.field];
    if (from === input.value) return current;
    const updated = await trx.updateTable('devices').set({ [input.field]: input.value }).where('id', '=', current.id).returningAll().executeTakeFirstOrThrow();
    const event: NewEvent =
      input.field === 'owner'
        ? { type: 'device.owner_changed', actor: input.actor, deviceId: current.id, data: { from, to: input.value } }
        : { type: 'device.change_ref_changed', actor: input.actor, deviceId: current.id, data: { from, to: input.value } };
    await rejudgeDevices(trx, deps.policies, [current.id], { now: deps.now(), cause: 'admin', actor: input.actor, causes: [event] });
    return updated;
  });
}

/**
 * Confirms that a device enrolled from a reinstalled machine replaces the device that machine
 * had (`device relink NEW_ID`): the new one becomes active, the old one is revoked with reason
 * `relinked` (its streams close), and the link stays on the new record (`relink_of`). The owner
 * and change reference carry over where the new enrollment's token gave none; the group and end
 * date stay the new token's, which is the grant an administrator made for the reinstall.
 */
export async function relinkDevice(deps: PolicyDeps, input: { deviceId: string; actor: string }): Promise<{ device: Device; replaced: Device }> {
  const now = deps.now();
  const at = new Date(now * 1000);
  return deps.db.transaction().execute(async (trx) => {
    if (!uuid.safeParse(input.deviceId).success) throw noDevice(input.deviceId);
    // Read, then lock both rows in id order (as every writer does), then judge what was locked.
    const peek = await trx.selectFrom('devices').select('relink_of').where('id', '=', input.deviceId).executeTakeFirst();
    if (!peek) throw noDevice(input.deviceId);
    const both = await lockDevices(trx, peek.relink_of ? [input.deviceId, peek.relink_of] : [input.deviceId]);
    const first = both.get(input.deviceId) as Device;
    if (first.status !== 'pending_approval' || first.relink_of === null || first.relink_of !== peek.relink_of) {
      throw new HttpError('not_pending', `device ${first.id} is ${first.status} and awaits no relink: only a device enrolled from the machine of a still-enrolled device can be relinked`);
    }
    const oldId = first.relink_of;
    const old = both.get(oldId) as Device;
    // The reinstalled machine keeps who answers for it and under which change, unless its new token said.
    const device = await trx
      .updateTable('devices')
      .set({ status: 'active', approved_at: at, pending_until: null, owner: first.owner ?? old.owner, change_ref: first.change_ref ?? old.change_ref })
      .where('id', '=', first.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const causes: NewEvent[] = [{ type: 'device.relinked', actor: input.actor, deviceId: first.id, data: { replaces: oldId } }];
    if (first.owner === null && old.owner !== null) causes.push({ type: 'device.owner_changed', actor: input.actor, deviceId: first.id, data: { from: null, to: old.owner } });
    if (first.change_ref === null && old.change_ref !== null) causes.push({ type: 'device.change_ref_changed', actor: input.actor, deviceId: first.id, data: { from: null, to: old.change_ref } });
    let replaced = old;
    if (old.status !== 'revoked') {
      replaced = await trx.updateTable('devices').set({ status: 'revoked', revoked_at: at, pending_until: null }).where('id', '=', oldId).returningAll().executeTakeFirstOrThrow();
      causes.unshift({ type: 'device.revoked', actor: input.actor, deviceId: oldId, data: { reason: 'relinked', from: old.status, replaced_by: first.id } });
    }
    await rejudgeDevices(trx, deps.policies, [first.id, oldId], { now, cause: 'admin', actor: input.actor, reason: 'device relinked', causes });
    return { device, replaced };
  });
}

/** The device asked to leave (`postern-agent unenroll`, a request signed with its key): revoked, reason `unenrolled`. */
export async function unenrollDevice(deps: PolicyDeps, deviceId: string): Promise<Device> {
  const actor = `device:${deviceId}`;
  return deps.db.transaction().execute(async (trx) => {
    const current = (await lockDevices(trx, [deviceId])).get(deviceId) as Device;
    if (current.status === 'revoked') return current;
    const updated = await trx.updateTable('devices').set({ status: 'revoked', revoked_at: new Date(deps.now() * 1000), pending_until: null }).where('id', '=', deviceId).returningAll().executeTakeFirstOrThrow();
    await rejudgeDevices(trx, deps.policies, [deviceId], {
      now: deps.now(),
      cause: 'admin',
      actor,
      reason: 'device unenrolled itself',
      causes: [{ type: 'device.revoked', actor, deviceId, data: { reason: 'unenrolled', from: current.status } }],
    });
    return updated;
  });
}

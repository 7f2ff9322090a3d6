import { sql } from 'kysely';
import { uuid } from '@postern/shared';
import { checkDeviceRules, groupRules } from '../groups/settings.js';
import type { PolicyDeps } from '../policy-lifecycle/apply.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import type { Transaction } from 'kysely';
import { toSeconds } from '../store/rows.js';
import type { Database, Device } from '../store/schema.js';

/** The target group is known nowhere: most likely a typo. */
export class GroupUnknown extends Error {
  readonly code = 'unknown_group';
  constructor(
    readonly group: string,
    readonly known: string[],
  ) {
    super(
      `no group ${JSON.stringify(group)}: no enrollment token, policy or device names it. Groups that exist: ${known.length ? known.join(', ') : '(none)'}. ` +
        'Check the spelling, or pass --create (API: "create": true) to start a new group judged by the default policy',
    );
  }
}

/**
 * Moves a device to another group. In one transaction: the move, its `device.group_changed`
 * event, and the device judged again by the new group's policy (cause `group`). Its agent is
 * told to report by the stream fan-out, on the event. A group that nothing names yet is made
 * only with `create`, so a typo cannot silently put a device under the default policy. The
 * device must meet the new group's rules (owner, change reference, longest access) first.
 */
export async function setDeviceGroup(deps: PolicyDeps, input: { deviceId: string; group: string; actor: string; create?: boolean; reason?: string }): Promise<Device | null> {
  if (!uuid.safeParse(input.deviceId).success) return null;
  return deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('devices').selectAll().where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!current || current.group_name === input.group) return current ?? null;
    if (!input.create) {
      const known = await knownGroups(trx);
      if (!known.includes(input.group)) throw new GroupUnknown(input.group, known);
    }
    checkDeviceRules(await groupRules(trx, input.group), { id: current.id, owner: current.owner, changeRef: current.change_ref, expiresAt: toSeconds(current.expires_at) }, deps.now());
    const updated = await trx.updateTable('devices').set({ group_name: input.group }).where('id', '=', input.deviceId).returningAll().executeTakeFirstOrThrow();
    await rejudgeDevices(trx, deps.policies, [input.deviceId], {
      now: deps.now(),
      cause: 'group',
      actor: input.actor,
      reason: `group changed to ${input.group}`,
      causes: [{ type: 'device.group_changed', actor: input.actor, deviceId: input.deviceId, data: { from: current.group_name, to: input.group, ...(input.reason?.trim() ? { note: input.reason.trim() } : {}) } }],
    });
    return updated;
  });
}

/** Every group some enrollment token, policy version or device names, sorted. */
async function knownGroups(trx: Transaction<Database>): Promise<string[]> {
  const rows = await trx
    .selectFrom('enrollment_tokens')
    .select('group_name')
    .union(trx.selectFrom('policy_versions').select('group_name'))
    .union(trx.selectFrom('devices').select('group_name'))
    .orderBy(sql`1`)
    .execute();
  return rows.map((row) => row.group_name);
}

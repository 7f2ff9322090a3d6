import type { Kysely } from 'kysely';
import { activeExceptions } from './active-exceptions.js';
import type { NewEvent, VerdictCause } from '../events/types.js';
import { checksOf, enrolledPlatform, postureOf, toSeconds, verdictOf } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { judge } from './judge.js';
import { recordStandings, type Recorded } from './record.js';
import type { PolicySource } from '../policy/types.js';

export interface RejudgeOptions {
  now: number;
  cause: VerdictCause;
  actor: string;
  reason?: string;
  /** Lifecycle events that led to this (recorded first, in the same transaction). */
  causes?: readonly NewEvent[];
}

/**
 * Judges devices again from their stored posture, in the caller's transaction: locks their rows
 * (in id order, as every writer does, so writers queue rather than deadlock), judges each with
 * its group's policy, and stores the result through the one writer. Devices that no longer
 * exist are left out.
 */
export async function rejudgeDevices(trx: Kysely<Database>, policies: PolicySource, deviceIds: readonly string[], options: RejudgeOptions): Promise<Recorded[]> {
  const ids = [...new Set(deviceIds)];
  if (ids.length === 0) {
    if (options.causes?.length) await recordStandings(trx, [], options.now, options.causes);
    return [];
  }
  const devices = await trx
    .selectFrom('devices')
    .select(['id', 'status', 'expires_at', 'pending_until', 'group_name', 'platform', 'agent_version'])
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute();
  const found = devices.map((d) => d.id);
  const [standings, postures, exceptions] = found.length
    ? await Promise.all([
        trx.selectFrom('device_standing').select(['device_id', 'verdict', 'verdict_since', 'checks']).where('device_id', 'in', found).execute(),
        trx.selectFrom('device_posture').select(['device_id', 'attested_at', 'posture']).where('device_id', 'in', found).execute(),
        activeExceptions(trx, found, options.now),
      ])
    : [[], [], new Map()];
  const standingById = new Map(standings.map((s) => [s.device_id, s]));
  const postureById = new Map(postures.map((p) => [p.device_id, p]));
  const writes = devices.map((device) => {
    const stored = standingById.get(device.id);
    const postureRow = postureById.get(device.id);
    const posture = postureOf(postureRow);
    const judgement = judge({
      policy: policies.forGroup(device.group_name),
      device: { status: device.status, expires_at: toSeconds(device.expires_at), pendingUntil: toSeconds(device.pending_until), platform: enrolledPlatform(device.platform), agentVersion: device.agent_version },
      latest: posture && postureRow ? { posture, attestedAt: toSeconds(postureRow.attested_at) ?? options.now } : null,
      previous: checksOf(stored),
      exceptions: exceptions.get(device.id) ?? [],
      now: options.now,
    });
    return {
      deviceId: device.id,
      previous: stored ? { verdict: verdictOf(stored.verdict), verdict_since: stored.verdict_since } : null,
      judgement,
      cause: options.cause,
      actor: options.actor,
      ...(options.reason ? { reason: options.reason } : {}),
    };
  });
  return recordStandings(trx, writes, options.now, options.causes ?? []);
}

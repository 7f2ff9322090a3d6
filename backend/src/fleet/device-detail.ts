import type { Kysely } from 'kysely';
import { parseEvent } from '../events/types.js';
import { checksOf, toSeconds, verdictOf } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { FLEET_DEVICE_COLUMNS, fleetDeviceOf } from './device-row.js';
import type { FleetDeviceDetail } from './schemas.js';

const TIMELINE_EVENTS = 100;
const TIMELINE_REPORTS = 50;

/** Everything the device page shows, or null for an unknown device. */
export async function fleetDeviceDetail(db: Kysely<Database>, deviceId: string, now: number): Promise<FleetDeviceDetail | null> {
  const row = await db
    .selectFrom('devices as d')
    .innerJoin('device_standing as s', 's.device_id', 'd.id')
    .leftJoin('device_posture as p', 'p.device_id', 'd.id')
    .select([
      ...FLEET_DEVICE_COLUMNS,
      'd.kid', 'd.serial', 'd.agent_version', 'd.machine_id', 'd.ueid', 'd.approved_at', 'd.revoked_at',
      's.checks', 's.policy_id', 's.evaluated_at', 's.next_change_at',
      'p.seq as posture_seq', 'p.attested_at', 'p.received_at', 'p.posture',
    ])
    .where('d.id', '=', deviceId)
    .executeTakeFirst();
  if (!row) return null;
  const [events, reports, exceptions] = await Promise.all([
    db.selectFrom('events').selectAll().where('device_id', '=', deviceId).orderBy('seq', 'desc').limit(TIMELINE_EVENTS).execute(),
    db.selectFrom('attestations').select(['seq', 'received_at', 'verdict', 'score']).where('device_id', '=', deviceId).orderBy('received_at', 'desc').limit(TIMELINE_REPORTS).execute(),
    db
      .selectFrom('device_exceptions')
      .select(['id', 'check_id', 'until', 'reason', 'granted_by'])
      .where('device_id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .where('until', '>', new Date(now * 1000))
      .orderBy('until')
      .execute(),
  ]);
  const timeline: FleetDeviceDetail['timeline'] = [
    ...events.flatMap((e) => {
      const event = parseEvent(e);
      return event ? [{ kind: 'event' as const, at: event.at, event }] : [];
    }),
    ...reports.map((r) => ({ kind: 'report' as const, at: toSeconds(r.received_at) ?? 0, seq: Number(r.seq), verdict: verdictOf(r.verdict), score: r.score })),
  ].sort((a, b) => b.at - a.at);
  return {
    device: {
      ...fleetDeviceOf(row),
      kid: row.kid,
      serial: row.serial,
      agent_version: row.agent_version,
      machine_id: row.machine_id,
      ueid: row.ueid,
      approved_at: toSeconds(row.approved_at),
      revoked_at: toSeconds(row.revoked_at),
    },
    checks: checksOf(row),
    policy: row.policy_id,
    evaluated_at: toSeconds(row.evaluated_at) ?? 0,
    next_change_at: toSeconds(row.next_change_at),
    exceptions: exceptions.map((x) => ({ exception_id: x.id, check: x.check_id, until: toSeconds(x.until) ?? 0, reason: x.reason, granted_by: x.granted_by })),
    latest_attestation:
      row.posture_seq === null || row.attested_at === null || row.received_at === null
        ? null
        : { seq: Number(row.posture_seq), attested_at: toSeconds(row.attested_at) ?? 0, received_at: toSeconds(row.received_at) ?? 0, posture: row.posture },
    timeline,
  };
}

import type { DeviceStatus } from '../store/schema.js';
import { toSeconds, verdictOf } from '../store/rows.js';
import type { FleetDevice } from './schemas.js';

/** The columns of devices, device_standing and device_posture a fleet device is made of. */
export interface FleetDeviceRow {
  id: string;
  hostname: string;
  owner: string | null;
  change_ref: string | null;
  platform: string;
  group_name: string;
  status: DeviceStatus;
  last_seen_at: Date | null;
  enrolled_at: Date;
  expires_at: Date | null;
  /** Standing columns are null only for a device written without one (never by enrollment). */
  verdict: string | null;
  score: number | null;
  failing: unknown;
  verdict_since: Date | null;
  os_version: string | null;
}

export const FLEET_DEVICE_COLUMNS = [
  'd.id', 'd.hostname', 'd.owner', 'd.change_ref', 'd.platform', 'd.group_name', 'd.status', 'd.last_seen_at', 'd.enrolled_at', 'd.expires_at',
  's.verdict', 's.score', 's.failing', 's.verdict_since', 'p.os_version',
] as const;

export function fleetDeviceOf(r: FleetDeviceRow): FleetDevice {
  return {
    device_id: r.id,
    hostname: r.hostname,
    owner: r.owner,
    change_ref: r.change_ref,
    platform: r.platform,
    os_version: r.os_version ?? null,
    group: r.group_name,
    status: r.status,
    verdict: verdictOf(r.verdict ?? 'unknown'),
    score: r.score ?? 0,
    failing: Array.isArray(r.failing) ? r.failing.filter((c): c is string => typeof c === 'string') : [],
    last_seen_at: toSeconds(r.last_seen_at),
    verdict_since: toSeconds(r.verdict_since) ?? toSeconds(r.enrolled_at) ?? 0,
    enrolled_at: toSeconds(r.enrolled_at) ?? 0,
    expires_at: toSeconds(r.expires_at),
  };
}

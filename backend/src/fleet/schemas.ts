import { checkResult, numericDate, uuid, verdict } from '@postern/shared';
import { z } from 'zod';
import { streamEvent } from '../events/types.js';

// What the fleet routes take and answer; the OpenAPI document is generated from these.

const list = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).max(20));

export const deviceSorts = ['hostname', 'last_seen', 'score', 'verdict_since', 'enrolled'] as const;
export type DeviceSort = (typeof deviceSorts)[number];

export const deviceSearchFilters = z.object({
  q: z.string().trim().max(200).optional().describe('prefix of a hostname, an owner, a change reference or a device id (case-insensitive)'),
  verdict: list(verdict).optional().describe('comma-separated verdicts'),
  status: list(z.enum(['active', 'pending_approval', 'revoked'])).optional(),
  group: z.string().max(100).optional(),
  platform: z.string().max(20).optional(),
  os_version: z.string().max(200).optional(),
  failing: z.string().max(200).optional().describe('a check id the device fails now'),
  not_reporting_s: z.coerce.number().int().min(60).max(365 * 86400).optional().describe('only active devices not seen for this many seconds'),
  sort: z.enum(deviceSorts).default('hostname'),
  order: z.enum(['asc', 'desc']).optional().describe('hostname sorts ascending by default, the others descending'),
});
export type DeviceSearchFilters = z.infer<typeof deviceSearchFilters>;

export const deviceSearchQuery = deviceSearchFilters.extend({
  cursor: z.string().max(1000).optional().describe('`next` of the previous page'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const score = z.number().int().min(0).max(100);

export const fleetDevice = z.object({
  device_id: uuid,
  hostname: z.string(),
  owner: z.string().nullable(),
  change_ref: z.string().nullable().describe('the change (ticket) the device runs under'),
  platform: z.string(),
  os_version: z.string().nullable(),
  group: z.string(),
  status: z.enum(['active', 'pending_approval', 'revoked']),
  verdict,
  score,
  failing: z.array(z.string()),
  last_seen_at: numericDate.nullable(),
  verdict_since: numericDate,
  enrolled_at: numericDate,
  expires_at: numericDate.nullable(),
});
export type FleetDevice = z.infer<typeof fleetDevice>;

export const deviceSearchResult = z.object({
  devices: z.array(fleetDevice),
  total: z.number().int().nonnegative().nullable().describe('devices matching the filters; counted on the first page only (null with a cursor)'),
  next: z.string().nullable().describe('cursor of the next page; null on the last'),
});

export const overviewQuery = z.object({
  range: z.enum(['24h', '7d', '30d']).default('7d'),
  not_reporting_s: z.coerce.number().int().min(60).max(365 * 86400).default(86400),
  ending_within_s: z.coerce.number().int().min(60).max(365 * 86400).default(7 * 86400),
});

const count = z.number().int().nonnegative();
export const fleetOverview = z.object({
  at: numericDate,
  /** The newest event folded into these figures: resume the live feed after it. */
  seq: z.number().int().nonnegative(),
  devices: count,
  by_verdict: z.record(z.string(), count),
  by_status: z.record(z.string(), count),
  series: z.object({
    bucket_s: z.number().int().positive(),
    points: z.array(z.object({ at: numericDate, by_verdict: z.record(z.string(), count) })),
  }),
  failing_checks: z.array(z.object({ check: z.string(), devices: count })),
  os_versions: z.array(z.object({ platform: z.string(), version: z.string().nullable(), devices: count })),
  not_reporting: z.object({ after_s: z.number().int(), devices: count }),
  pending_approvals: count,
  ending_soon: z.object({
    within_s: z.number().int(),
    devices: z.array(z.object({ device_id: uuid, hostname: z.string(), expires_at: numericDate })),
    exceptions: z.array(z.object({ exception_id: uuid, device_id: uuid, hostname: z.string(), check: z.string(), until: numericDate })),
  }),
});
export type FleetOverview = z.infer<typeof fleetOverview>;

export const timelineEntry = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('report'), at: numericDate, seq: z.number().int(), verdict, score }),
  z.object({ kind: z.literal('event'), at: numericDate, event: streamEvent }),
]);

export const fleetDeviceDetail = z.object({
  device: fleetDevice.extend({ kid: z.string(), serial: z.string().nullable(), agent_version: z.string(), machine_id: z.string(), ueid: z.string(), approved_at: numericDate.nullable(), revoked_at: numericDate.nullable() }),
  checks: z.array(checkResult),
  policy: z.string(),
  evaluated_at: numericDate,
  next_change_at: numericDate.nullable(),
  exceptions: z.array(z.object({ exception_id: uuid, check: z.string(), until: numericDate, reason: z.string(), granted_by: z.string() })),
  latest_attestation: z.object({ seq: z.number().int(), attested_at: numericDate, received_at: numericDate, posture: z.unknown() }).nullable(),
  timeline: z.array(timelineEntry),
});
export type FleetDeviceDetail = z.infer<typeof fleetDeviceDetail>;

export const feedQuery = z.object({
  after: z.coerce.number().int().nonnegative().optional().describe('replay events after this seq first (the `seq` of the overview); Last-Event-ID wins on a reconnect'),
});

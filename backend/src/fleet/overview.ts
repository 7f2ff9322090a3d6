import { sql, type Kysely } from 'kysely';
import { toSeconds } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import type { FleetOverview } from './schemas.js';

const RANGES = { '24h': { span: 86400, bucket: 3600 }, '7d': { span: 7 * 86400, bucket: 6 * 3600 }, '30d': { span: 30 * 86400, bucket: 86400 } } as const;
export type OverviewRange = keyof typeof RANGES;

/** How a change moves one device between verdicts; enrollment adds one to its first verdict. */
export interface VerdictMove {
  bucket: number;
  from: string | null;
  to: string;
  devices: number;
}

/**
 * Compliance over time, from the event stream: the fleet's counts by verdict at the end of each
 * bucket, found by walking back from today's counts and undoing each bucket's verdict changes.
 * Exact for as far back as the stream is kept; no per-interval snapshot table to maintain.
 */
export function foldSeries(current: Record<string, number>, moves: readonly VerdictMove[], first: number, last: number, bucketS: number): FleetOverview['series'] {
  const byBucket = new Map<number, VerdictMove[]>();
  for (const move of moves) byBucket.set(move.bucket, [...(byBucket.get(move.bucket) ?? []), move]);
  const points: FleetOverview['series']['points'] = [];
  let state = { ...current };
  for (let bucket = last; bucket >= first; bucket--) {
    points.push({ at: (bucket + 1) * bucketS, by_verdict: Object.fromEntries(Object.entries(state).filter(([, n]) => n > 0)) });
    const undone = { ...state };
    for (const move of byBucket.get(bucket) ?? []) {
      undone[move.to] = (undone[move.to] ?? 0) - move.devices;
      if (move.from) undone[move.from] = (undone[move.from] ?? 0) + move.devices;
    }
    state = undone;
  }
  return { bucket_s: bucketS, points: points.reverse() };
}

/** The seq of the newest event (0 for an empty stream). */
export async function streamHead(db: Kysely<Database>): Promise<number> {
  const head = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(head?.seq ?? 0);
}

export async function fleetOverview(db: Kysely<Database>, options: { range: OverviewRange; notReportingS: number; endingWithinS: number; now: number }): Promise<FleetOverview> {
  const { now } = options;
  const { span, bucket } = RANGES[options.range];
  const first = Math.floor((now - span) / bucket) + 1;
  const last = Math.floor(now / bucket);
  const silentSince = new Date((now - options.notReportingS) * 1000);
  const endsBy = new Date((now + options.endingWithinS) * 1000);
  const nowDate = new Date(now * 1000);

  // One snapshot, so the counts and the series agree with the seq the live feed resumes after.
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const [head, verdicts, statuses, moves, failing, versions, silent, ending, exceptions] = await Promise.all([
      streamHead(trx),
      trx.selectFrom('device_standing').select(['verdict', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('verdict').execute(),
      trx.selectFrom('devices').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute(),
      trx
        .selectFrom('events')
        .select([
          sql<string>`floor(extract(epoch from at) / ${bucket})::int8`.as('bucket'),
          sql<string | null>`case when type = 'device.enrolled' then null else data ->> 'from' end`.as('from'),
          sql<string>`case when type = 'device.enrolled' then (case when data ->> 'status' = 'pending_approval' then 'pending' else 'unknown' end) else data ->> 'to' end`.as('to'),
          (eb) => eb.fn.countAll<string>().as('n'),
        ])
        .where('type', 'in', ['device.verdict_changed', 'device.enrolled'])
        .where('at', '>=', new Date(first * bucket * 1000))
        .groupBy([sql`1`, sql`2`, sql`3`])
        .execute(),
      trx
        .selectFrom(sql<{ check: string }>`(select jsonb_array_elements_text(failing) as check from device_standing)`.as('f'))
        .select(['f.check', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('f.check')
        .orderBy('n', 'desc')
        .orderBy('f.check')
        .limit(10)
        .execute(),
      trx
        .selectFrom('devices as d')
        .leftJoin('device_posture as p', 'p.device_id', 'd.id')
        .select(['d.platform', 'p.os_version', (eb) => eb.fn.countAll<string>().as('n')])
        .where('d.status', '!=', 'revoked')
        .groupBy(['d.platform', 'p.os_version'])
        .orderBy('n', 'desc')
        .limit(20)
        .execute(),
      trx
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('status', '=', 'active')
        .where((eb) => eb.or([eb('last_seen_at', '<', silentSince), eb.and([eb('last_seen_at', 'is', null), eb('enrolled_at', '<', silentSince)])]))
        .executeTakeFirst(),
      trx
        .selectFrom('devices')
        .select(['id', 'hostname', 'expires_at'])
        .where('status', '!=', 'revoked')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<=', endsBy)
        .orderBy('expires_at')
        .limit(20)
        .execute(),
      trx
        .selectFrom('device_exceptions as x')
        .innerJoin('devices as d', 'd.id', 'x.device_id')
        .select(['x.id', 'x.device_id', 'd.hostname', 'x.check_id', 'x.until'])
        .where('x.revoked_at', 'is', null)
        .where('x.until', '>', nowDate)
        .where('x.until', '<=', endsBy)
        .orderBy('x.until')
        .limit(20)
        .execute(),
    ]);
    const byVerdict = Object.fromEntries(verdicts.map((r) => [r.verdict, Number(r.n)]));
    const byStatus = Object.fromEntries(statuses.map((r) => [r.status, Number(r.n)]));
    return {
      at: now,
      seq: head,
      devices: Object.values(byStatus).reduce((a, b) => a + b, 0),
      by_verdict: byVerdict,
      by_status: byStatus,
      series: foldSeries(byVerdict, moves.map((m) => ({ bucket: Number(m.bucket), from: m.from, to: m.to, devices: Number(m.n) })), first, last, bucket),
      failing_checks: failing.map((r) => ({ check: r.check, devices: Number(r.n) })),
      os_versions: versions.map((r) => ({ platform: r.platform, version: r.os_version ?? null, devices: Number(r.n) })),
      not_reporting: { after_s: options.notReportingS, devices: Number(silent?.n ?? 0) },
      pending_approvals: byStatus.pending_approval ?? 0,
      ending_soon: {
        within_s: options.endingWithinS,
        devices: ending.map((r) => ({ device_id: r.id, hostname: r.hostname, expires_at: toSeconds(r.expires_at) ?? 0 })),
        exceptions: exceptions.map((r) => ({ exception_id: r.id, device_id: r.device_id, hostname: r.hostname, check: r.check_id, until: toSeconds(r.until) ?? 0 })),
      },
    };
  });
}

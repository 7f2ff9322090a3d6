import { sql, type Kysely } from 'kysely';
import { toSeconds } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { MOVE_BUCKET_S, readRollup } from './fleet-rollup.js';
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
 * bucket, found by walking back from today's counts and undoing each bucket's verdict changes
 * (the rollup's net moves per five minutes, summed into the range's buckets). Exact for as far
 * back as the stream is kept.
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


/** The figures a scan of the fleet's tables gives (no event tells of a report that changes no verdict); shared for a while by overviews. */
export interface FleetScanFigures {
  failing_checks: FleetOverview['failing_checks'];
  os_versions: FleetOverview['os_versions'];
  not_reporting: FleetOverview['not_reporting'];
}

/** The checks failing most, the OS versions and the silent devices: one pass over each table. */
export async function fleetScanFigures(db: Kysely<Database>, options: { notReportingS: number; now: number }): Promise<FleetScanFigures> {
  const silentSince = new Date((options.now - options.notReportingS) * 1000);
  const [failing, versions, silent] = await Promise.all([
    db
      .selectFrom(sql<{ check: string }>`(select jsonb_array_elements_text(failing) as check from device_standing where failing <> '[]'::jsonb)`.as('f'))
      .select(['f.check', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('f.check')
      .orderBy('n', 'desc')
      .orderBy('f.check')
      .limit(10)
      .execute(),
    db
      .selectFrom('devices as d')
      .leftJoin('device_posture as p', 'p.device_id', 'd.id')
      .select(['d.platform', 'p.os_version', (eb) => eb.fn.countAll<string>().as('n')])
      .where('d.status', '!=', 'revoked')
      .groupBy(['d.platform', 'p.os_version'])
      .orderBy('n', 'desc')
      .limit(20)
      .execute(),
    db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('last_seen_at', '<', silentSince), eb.and([eb('last_seen_at', 'is', null), eb('enrolled_at', '<', silentSince)])]))
      .executeTakeFirst(),
  ]);
  return {
    failing_checks: failing.map((r) => ({ check: r.check, devices: Number(r.n) })),
    os_versions: versions.map((r) => ({ platform: r.platform, version: r.os_version ?? null, devices: Number(r.n) })),
    not_reporting: { after_s: options.notReportingS, devices: Number(silent?.n ?? 0) },
  };
}

export interface OverviewOptions {
  range: OverviewRange;
  notReportingS: number;
  endingWithinS: number;
  now: number;
  /** Where the scan figures come from: by default computed now; the routes share them (overview-cache.ts). */
  scan?: (compute: () => Promise<FleetScanFigures>) => Promise<FleetScanFigures>;
}

/**
 * The fleet at a glance. Counts by verdict and status and compliance over time come from the
 * rollup of the event stream (fleet-rollup.ts: a few hundred rows, whatever the fleet's size);
 * what ends soon from indexes; the checks failing most, OS versions and silent devices from a
 * scan that `options.scan` may share between overviews.
 */
export async function fleetOverview(db: Kysely<Database>, options: OverviewOptions): Promise<FleetOverview> {
  const { now } = options;
  const { span, bucket } = RANGES[options.range];
  const first = Math.floor((now - span) / bucket) + 1;
  const last = Math.floor(now / bucket);
  const endsBy = new Date((now + options.endingWithinS) * 1000);
  const nowDate = new Date(now * 1000);
  const scan = options.scan ?? ((compute) => compute());

  const [glance, figures] = await Promise.all([
    // One snapshot, so the counts and the series agree with the seq the live feed resumes after.
    db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const [rollup, ending, exceptions] = await Promise.all([
          readRollup(trx, { sinceBucket: Math.floor((first * bucket) / MOVE_BUCKET_S), now }),
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
        return { ...rollup, ending, exceptions };
      }),
    scan(() => fleetScanFigures(db, { notReportingS: options.notReportingS, now })),
  ]);
  const { counts, moves } = glance.rollup;
  return {
    at: now,
    seq: glance.seq,
    devices: Object.values(counts.status).reduce((a, b) => a + b, 0),
    by_verdict: counts.verdict,
    by_status: counts.status,
    series: foldSeries(
      counts.verdict,
      moves.map((m) => ({ bucket: Math.floor((m.bucket * MOVE_BUCKET_S) / bucket), from: null, to: m.verdict, devices: m.devices })),
      first,
      last,
      bucket,
    ),
    ...figures,
    pending_approvals: counts.status.pending_approval ?? 0,
    ending_soon: {
      within_s: options.endingWithinS,
      devices: glance.ending.map((r) => ({ device_id: r.id, hostname: r.hostname, expires_at: toSeconds(r.expires_at) ?? 0 })),
      exceptions: glance.exceptions.map((r) => ({ exception_id: r.id, device_id: r.device_id, hostname: r.hostname, check: r.check_id, until: toSeconds(r.until) ?? 0 })),
    },
  };
}

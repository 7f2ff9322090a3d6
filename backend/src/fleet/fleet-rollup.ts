import { sql, type Kysely } from 'kysely';
import type { ConsumerSpec } from '../events/consumer.js';
import { parseEvent, type StreamEvent } from '../events/types.js';
import { JOURNAL_LOCK } from '../store/advisory-locks.js';
import type { Database } from '../store/schema.js';
import { streamHead } from '../events/read.js';

/** The durable consumer's name, and the rollup's. */
export const FLEET_ROLLUP = 'fleet-rollup';
/** Verdict moves are kept per five minutes: every range of the overview (1 h, 6 h, 1 d buckets) is a whole number of them. */
export const MOVE_BUCKET_S = 300;
/** Moves older than this are never folded (the longest range is 30 days) and are dropped. */
const MOVES_KEPT_S = 31 * 86400;

export interface FleetCounts {
  verdict: Record<string, number>;
  status: Record<string, number>;
}
/** Net devices `verdict` gained in five-minute bucket `bucket` (floor(epoch / 300)); negative when it lost some. */
export interface VerdictMove {
  bucket: number;
  verdict: string;
  devices: number;
}
export interface FleetRollup {
  counts: FleetCounts;
  moves: VerdictMove[];
}

const STATUSES = new Set(['active', 'pending_approval', 'revoked']);
const add = (into: Record<string, number>, key: string, n: number) => {
  into[key] = (into[key] ?? 0) + n;
};

/**
 * What events change in the rollup (pure). Enrollment counts a device in its first verdict
 * (`pending` or `unknown`) and status; every later verdict is a `device.verdict_changed`;
 * statuses move by the lifecycle events (an enrollment that ends by itself keeps its status).
 */
export function rollupChange(events: readonly StreamEvent[]): FleetRollup {
  const counts: FleetCounts = { verdict: {}, status: {} };
  const moves = new Map<string, VerdictMove>();
  const move = (at: number, verdict: string, devices: number) => {
    add(counts.verdict, verdict, devices);
    const bucket = Math.floor(at / MOVE_BUCKET_S);
    const key = `${bucket}|${verdict}`;
    const entry = moves.get(key) ?? { bucket, verdict, devices: 0 };
    entry.devices += devices;
    moves.set(key, entry);
  };
  for (const event of events) {
    switch (event.type) {
      case 'device.enrolled':
        move(event.at, event.data.status === 'pending_approval' ? 'pending' : 'unknown', 1);
        add(counts.status, event.data.status, 1);
        break;
      case 'device.verdict_changed':
        if (event.data.from) move(event.at, event.data.from, -1);
        move(event.at, event.data.to, 1);
        break;
      case 'device.approved':
      case 'device.relinked':
        add(counts.status, 'pending_approval', -1);
        add(counts.status, 'active', 1);
        break;
      case 'device.denied':
        add(counts.status, 'pending_approval', -1);
        add(counts.status, 'revoked', 1);
        break;
      case 'device.revoked': {
        // An enrollment that ended by itself keeps its status; only its verdict says revoked.
        if (event.data.reason === 'expired') break;
        const from = event.data.from ?? 'active';
        add(counts.status, STATUSES.has(from) ? from : 'active', -1);
        add(counts.status, 'revoked', 1);
        break;
      }
      default:
        break;
    }
  }
  return { counts, moves: [...moves.values()].filter((m) => m.devices !== 0) };
}

/** `base` with `change` added; zero counts dropped. */
export function addRollup(base: FleetRollup, change: FleetRollup): FleetRollup {
  const counts: FleetCounts = { verdict: { ...base.counts.verdict }, status: { ...base.counts.status } };
  for (const dimension of ['verdict', 'status'] as const) {
    for (const [key, n] of Object.entries(change.counts[dimension])) add(counts[dimension], key, n);
    for (const [key, n] of Object.entries(counts[dimension])) if (n === 0) delete counts[dimension][key];
  }
  return { counts, moves: [...base.moves, ...change.moves] };
}

async function storeChange(trx: Kysely<Database>, change: FleetRollup, now: number): Promise<void> {
  const counts = (['verdict', 'status'] as const).flatMap((dimension) =>
    Object.entries(change.counts[dimension])
      .filter(([, n]) => n !== 0)
      .map(([key, devices]) => ({ dimension, key, devices })),
  );
  if (counts.length > 0) {
    await trx
      .insertInto('fleet_counts')
      .values(counts)
      .onConflict((oc) => oc.columns(['dimension', 'key']).doUpdateSet({ devices: sql`fleet_counts.devices + excluded.devices` }))
      .execute();
  }
  if (change.moves.length > 0) {
    await trx
      .insertInto('fleet_verdict_moves')
      .values(change.moves)
      .onConflict((oc) => oc.columns(['bucket', 'verdict']).doUpdateSet({ devices: sql`fleet_verdict_moves.devices + excluded.devices` }))
      .execute();
    await trx.deleteFrom('fleet_verdict_moves').where('bucket', '<', Math.floor((now - MOVES_KEPT_S) / MOVE_BUCKET_S)).execute();
  }
}

/** The durable consumer that keeps the rollup, in the transaction that advances its position. */
export function fleetRollupConsumer(now: () => number): ConsumerSpec {
  return {
    name: FLEET_ROLLUP,
    durable: true,
    handle: async (events, trx) => {
      if (!trx) throw new Error('the fleet rollup is durable: it needs its transaction');
      await storeChange(trx, rollupChange(events), now());
    },
  };
}

/**
 * The rollup computed from the tables: counts from the current standings and devices, moves
 * from the verdict changes and enrollments the stream still holds. What the consumer starts
 * from, and what the overview reads when no consumer has built one.
 */
export async function computeRollup(db: Kysely<Database>, now: number): Promise<FleetRollup> {
  const since = new Date((Math.floor((now - MOVES_KEPT_S) / MOVE_BUCKET_S) * MOVE_BUCKET_S) * 1000);
  const bucket = sql<string>`floor(extract(epoch from at) / ${MOVE_BUCKET_S})::int8`;
  const [verdicts, statuses, moves] = await Promise.all([
    db.selectFrom('device_standing').select(['verdict', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('verdict').execute(),
    db.selectFrom('devices').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute(),
    db
      .selectFrom(
        db
          .selectFrom('events')
          .select([
            bucket.as('bucket'),
            sql<string>`case when type = 'device.enrolled' then (case when data ->> 'status' = 'pending_approval' then 'pending' else 'unknown' end) else data ->> 'to' end`.as('verdict'),
            sql<number>`1`.as('n'),
          ])
          .where('type', 'in', ['device.verdict_changed', 'device.enrolled'])
          .where('at', '>=', since)
          .unionAll(
            db
              .selectFrom('events')
              .select([bucket.as('bucket'), sql<string>`data ->> 'from'`.as('verdict'), sql<number>`-1`.as('n')])
              .where('type', '=', 'device.verdict_changed')
              .where('at', '>=', since)
              .where(sql<boolean>`data ->> 'from' is not null`),
          )
          .as('m'),
      )
      .select(['m.bucket', 'm.verdict', (eb) => eb.fn.sum<string>('m.n').as('n')])
      .groupBy(['m.bucket', 'm.verdict'])
      .having((eb) => eb.fn.sum('m.n'), '<>', 0)
      .execute(),
  ]);
  return {
    counts: { verdict: Object.fromEntries(verdicts.map((r) => [r.verdict, Number(r.n)])), status: Object.fromEntries(statuses.map((r) => [r.status, Number(r.n)])) },
    moves: moves.map((r) => ({ bucket: Number(r.bucket), verdict: r.verdict, devices: Number(r.n) })),
  };
}

/**
 * Builds the rollup from the tables when there is none yet, or when the consumer's position is
 * older than the oldest event kept (it could not catch up from the stream), and sets the
 * consumer's position to the stream's head. Under the journal lock, so no event is appended
 * meanwhile and the counts are those of exactly that head; a replica starting at the same time
 * waits and finds the rollup built.
 */
export async function ensureFleetRollup(db: Kysely<Database>, now: number): Promise<{ built: boolean; seq: number }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${JOURNAL_LOCK})`.execute(trx);
    const [built, position, stream] = await Promise.all([
      trx.selectFrom('fleet_rollup').select('built_seq').where('name', '=', FLEET_ROLLUP).executeTakeFirst(),
      trx.selectFrom('event_consumers').select('last_seq').where('name', '=', FLEET_ROLLUP).executeTakeFirst(),
      trx.selectFrom('events').select([(eb) => eb.fn.min('seq').as('first'), (eb) => eb.fn.max('seq').as('head')]).executeTakeFirst(),
    ]);
    const head = Number(stream?.head ?? 0);
    const first = stream?.first === null || stream?.first === undefined ? head + 1 : Number(stream.first);
    if (built && position && Number(position.last_seq) + 1 >= first) return { built: false, seq: Number(position.last_seq) };
    const rollup = await computeRollup(trx, now);
    await trx.deleteFrom('fleet_counts').execute();
    await trx.deleteFrom('fleet_verdict_moves').execute();
    await storeChange(trx, rollup, now);
    const at = new Date(now * 1000);
    await trx
      .insertInto('fleet_rollup')
      .values({ name: FLEET_ROLLUP, built_seq: head, built_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ built_seq: head, built_at: at }))
      .execute();
    await trx
      .insertInto('event_consumers')
      .values({ name: FLEET_ROLLUP, last_seq: head, durable: true, heartbeat_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ last_seq: head, heartbeat_at: at }))
      .execute();
    return { built: true, seq: head };
  });
}

/**
 * The rollup as of the stream's head, in the caller's (repeatable read) transaction: what the
 * consumer stored plus the events it has not handled yet, so a read right after a change
 * already counts it. Without a built rollup (a store no server has run on), from the tables.
 */
export async function readRollup(trx: Kysely<Database>, options: { sinceBucket: number; now: number }): Promise<{ rollup: FleetRollup; seq: number }> {
  const position = await trx
    .selectFrom('fleet_rollup as r')
    .innerJoin('event_consumers as c', 'c.name', 'r.name')
    .select('c.last_seq')
    .where('r.name', '=', FLEET_ROLLUP)
    .executeTakeFirst();
  if (!position) {
    return { rollup: await computeRollup(trx, options.now), seq: await streamHead(trx) };
  }
  const after = Number(position.last_seq);
  const [counts, moves, pending] = await Promise.all([
    trx.selectFrom('fleet_counts').select(['dimension', 'key', 'devices']).execute(),
    trx.selectFrom('fleet_verdict_moves').select(['bucket', 'verdict', 'devices']).where('bucket', '>=', options.sinceBucket).execute(),
    trx.selectFrom('events').selectAll().where('seq', '>', after).orderBy('seq').execute(),
  ]);
  const stored: FleetRollup = { counts: { verdict: {}, status: {} }, moves: moves.map((m) => ({ bucket: Number(m.bucket), verdict: m.verdict, devices: Number(m.devices) })) };
  for (const row of counts) if (Number(row.devices) !== 0) stored.counts[row.dimension][row.key] = Number(row.devices);
  const events = pending.flatMap((row) => parseEvent(row) ?? []);
  return { rollup: addRollup(stored, rollupChange(events)), seq: pending.length > 0 ? Number(pending[pending.length - 1]?.seq) : after };
}

import type { Backend } from './context.js';
import { decideMany, type Decision } from './decisions/decide.js';
import { spendJtis, type JtiSpend } from './decisions/dpop.js';
import { OutageReplaySet } from './decisions/outage-replay-set.js';
import { ingestBatch, type IngestItem, type IngestResult } from './attestation/ingest.js';
import { isDatabaseUnavailable } from './store/database-unavailable.js';
import { MicroBatch, type Outcome } from './store/micro-batch.js';
import type { Device } from './store/schema.js';

/** The hot paths' database work, gathered from concurrent requests into one round trip each. */
export interface Batches {
  devicesByKid: MicroBatch<string, Device | null>;
  ingest: MicroBatch<IngestItem, IngestResult>;
  dpopJtis: MicroBatch<JtiSpend, boolean>;
  decisions: MicroBatch<{ deviceId: string }, Decision | null>;
}

/**
 * Few runs at a time (two for ingest, so one batch is evaluated while the other commits; one
 * for the rest): what arrives meanwhile makes the next batch, so batches grow with load (group
 * commit), and together they hold at most 5 of the pool's 10 connections (store/open.ts). The
 * queue bounds hold a few seconds of the throughput measured in BENCHMARKS.md; past them
 * requests fail fast with `rate_limited`.
 */
export function createBatches(backend: Omit<Backend, 'batches' | 'standings'>): Batches {
  const { db } = backend;
  const observe = (batch: keyof Batches) => (size: number) => backend.metrics.batchSize.observe({ batch }, size);
  const outageReplays = new OutageReplaySet();
  return {
    devicesByKid: new MicroBatch(
      async (kids) => {
        const rows = await db.selectFrom('devices').selectAll().where('kid', 'in', [...new Set(kids)]).execute();
        const byKid = new Map(rows.map((r) => [r.kid, r]));
        return kids.map((kid) => ({ ok: true, value: byKid.get(kid) ?? null }));
      },
      { maxBatch: 500, maxInFlight: 1, maxQueued: 10_000, onBatch: observe('devicesByKid') },
    ),
    // The backend object is read at run time: its issuer is set once the server listens.
    ingest: new MicroBatch((items) => ingestBatch(backend, items), { maxBatch: 250, maxInFlight: 2, maxQueued: 10_000, onBatch: observe('ingest') }),
    dpopJtis: new MicroBatch((spends) => spendProofs(db, outageReplays, spends), { maxBatch: 1000, maxInFlight: 1, maxQueued: 20_000, onBatch: observe('dpopJtis') }),
    decisions: new MicroBatch((asked) => decideMany(db, asked).then((ds) => ds.map((value) => ({ ok: true as const, value }))), { maxBatch: 1000, maxInFlight: 1, maxQueued: 20_000, onBatch: observe('decisions') }),
  };
}

/**
 * Proof ids are recorded in the database for every replica. While it is unreachable they are
 * recorded in this replica's memory instead (decisions/outage-replay-set.ts says what that means),
 * and ids spent there stay refused after it is back.
 */
async function spendProofs(db: Backend['db'], outage: OutageReplaySet, spends: readonly JtiSpend[]): Promise<Array<Outcome<boolean>>> {
  const unseen = spends.filter((s) => !outage.has(s.jtiHash));
  let outcomes: Array<Outcome<boolean>>;
  try {
    outcomes = unseen.length > 0 ? await spendJtis(db, unseen) : [];
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    outcomes = outage.spend(unseen);
  }
  const bySpend = new Map(unseen.map((s, i) => [s, outcomes[i]] as const));
  return spends.map((s) => bySpend.get(s) ?? { ok: true, value: false });
}

/**
 * Ingest: simulated agents stream signed attestations over WebSocket; accepted (verified,
 * evaluated, stored) attestations per second end to end, time to result, and the backend's
 * CPU and memory, on PostgreSQL and on PGlite. Baseline: raw ES256 verifications per second
 * on one core of this machine, in the same run. Goal: at least 0.5× that with PostgreSQL.
 *
 * Two windows per database: saturated (more reports offered than the server answers: the
 * throughput) and half load (half that rate offered: the time to result when not queueing).
 */
import type { RunContext } from '../context.js';
import { spread } from '../lib/fleet.js';
import { describeBatchSizes } from '../lib/batch-metrics.js';
import { fmt } from '../lib/stats.js';
import { deploy, measureIngest, verifyBaselineOnce, warmUp, type DbKind, type Deployment, type IngestFigures, type WarmUp } from './flows.js';
import { boundText, compare, COMPARISON_HEADER, contentionNote, LOAD_HEADER, loadCells, mibText, pct, type ScenarioReport } from './report.js';

export const INGEST_GOAL_RATIO = 0.5;
export const INGEST_GOAL_P99_MS = 50;

export interface IngestRun {
  saturated: IngestFigures;
  half: IngestFigures | null;
  warmUp: Omit<WarmUp, 'tokens'>;
  seed: { keySeconds: number; insertSeconds: number };
}

/** A deployment whose devices have all reported once, kept for the decisions scenario. */
export interface WarmDeployment {
  dep: Deployment;
  tokens: Array<[number, string]>;
}

function describe(kind: string, label: string, i: IngestFigures): string {
  return (
    `ingest ${kind} ${label}: ${i.perSecond.toFixed(0)}/s of ${i.offeredPerSecond.toFixed(0)}/s offered, p50 ${i.latencyMs.p50.toFixed(1)} ms, p99 ${i.latencyMs.p99.toFixed(1)} ms, ` +
    `server ${i.server.cpuPercent.toFixed(0)} % CPU (${((1e6 * i.server.cpuSeconds) / Math.max(1, i.accepted)).toFixed(0)} µs per attestation) ${i.server.rssMiB.toFixed(0)} MiB, db ${i.database.cpuPercent.toFixed(0)} %, generator ${i.generators.cpuPercent.map((c) => c.toFixed(0)).join('+')} %, ` +
    `requests per round trip: ${describeBatchSizes(i.batchSizes)}`
  );
}

/**
 * Deploys a seeded fleet, lets devices report once (PostgreSQL: the whole fleet, which also
 * gives every device an EAR token; PGlite: the devices that will stream), then measures.
 */
export async function ingestOn(ctx: RunContext, kind: DbKind, fleet: number, options: { half: boolean; keep?: (warm: WarmDeployment) => void }): Promise<IngestRun> {
  const sizes = ctx.sizes.ingest;
  const dep = await deploy(ctx, kind, fleet, { label: `ingest-${kind}-${fleet}` });
  let kept = false;
  try {
    const all = spread(fleet, fleet);
    const connections = sizes.connections[kind];
    // Devices that stream have reported before (as a fleet's would); PGlite warms only those.
    const warmed = kind === 'postgresql' ? all : spread(fleet, Math.min(fleet, connections));
    const warm = await warmUp(ctx, dep, warmed);
    const shape = { spacingMs: sizes.spacingMs, warmupMs: sizes.warmupMs };
    const saturated = await measureIngest(ctx, dep, warmed, { ...shape, connections, durationMs: sizes.durationMs });
    if (saturated.perSecond > 0.9 * saturated.offeredPerSecond) ctx.log(`ingest ${kind}: ${saturated.perSecond.toFixed(0)}/s is close to the ${saturated.offeredPerSecond.toFixed(0)}/s offered: not saturated, raise sizes.ingest.connections`);
    ctx.log(describe(kind, 'saturated', saturated));
    let half: IngestFigures | null = null;
    if (options.half) {
      // One report a second per connection: half the saturated rate is that many connections.
      const halfConnections = Math.max(10, Math.round((saturated.perSecond / 2) * (sizes.spacingMs / 1000)));
      half = await measureIngest(ctx, dep, warmed, { ...shape, connections: halfConnections, durationMs: sizes.halfDurationMs });
      ctx.log(describe(kind, 'half load', half));
    }
    const { tokens, ...warmUpFigures } = warm;
    if (options.keep) {
      options.keep({ dep, tokens });
      kept = true;
    }
    return { saturated, half, warmUp: warmUpFigures, seed: dep.seed };
  } finally {
    if (!kept) await dep.stop();
  }
}

export async function ingestScenario(ctx: RunContext): Promise<ScenarioReport> {
  const verify = await verifyBaselineOnce(ctx);
  const fleet = ctx.sizes.fleet;
  const runs: Partial<Record<DbKind, IngestRun>> = {};
  for (const kind of ['postgresql', 'pglite'] as const) {
    // The PostgreSQL deployment, every device warm with a token, serves the decisions scenario next.
    const keep =
      kind === 'postgresql' && ctx.willRun('decisions', 'ingest')
        ? (warm: WarmDeployment) => {
            ctx.shared.set(`deployment:postgresql:${fleet}`, warm);
            ctx.onClose(() => warm.dep.stop());
          }
        : undefined;
    const run = await ingestOn(ctx, kind, fleet, { half: true, ...(keep ? { keep } : {}) });
    runs[kind] = run;
    ctx.shared.set(`ingest:${kind}:${fleet}`, run);
  }
  const pg = runs.postgresql as IngestRun;
  const lite = runs.pglite as IngestRun;
  const goal = INGEST_GOAL_RATIO * verify.perSecond;
  const rows = [
    compare('accepted attestations/s, PostgreSQL', pg.saturated.perSecond, { baseline: verify.perSecond, baselineLabel: 'ES256 verify/s (1 core)', goal: `≥ ${INGEST_GOAL_RATIO}× (${fmt(goal)}/s)`, met: pg.saturated.perSecond >= goal }),
    compare('accepted attestations/s, PGlite', lite.saturated.perSecond, { baseline: verify.perSecond, baselineLabel: 'ES256 verify/s (1 core)' }),
  ];
  for (const [kind, run] of [['PostgreSQL', pg], ['PGlite', lite]] as const) {
    if (!run.half) continue;
    rows.push(
      compare(`p50 time to result at half load, ${kind}`, run.half.latencyMs.p50, { unit: 'ms', decimals: 1 }),
      compare(`p99 time to result at half load, ${kind}`, run.half.latencyMs.p99, { unit: 'ms', decimals: 1, ...(kind === 'PostgreSQL' ? { goal: `< ${INGEST_GOAL_P99_MS} ms`, met: run.half.latencyMs.p99 < INGEST_GOAL_P99_MS } : {}) }),
      ['  the same at the server, from its own histogram', boundText(run.half.serverP99BoundMs), '–', '–', kind === 'PostgreSQL' ? `< ${INGEST_GOAL_P99_MS} ms` : '–', kind !== 'PostgreSQL' || run.half.serverP99BoundMs === null ? '–' : run.half.serverP99BoundMs <= INGEST_GOAL_P99_MS ? 'yes' : 'no'],
    );
  }
  const detailRow = (kind: string, label: string, i: IngestFigures, firstReports: number | null) => [
    `${kind}, ${label}`,
    `${fmt(i.perSecond)} / ${fmt(i.offeredPerSecond)}`,
    ...loadCells(i, i.db === 'postgresql' ? null : 'in server'),
    mibText(i.server.peakRssMiB),
    i.generators.cpuPercent.map((c) => pct(c)).join(' + '),
    pct(i.machine.otherPercent),
    `${fmt(i.connections)} / ${fmt(i.fleet)}`,
    Object.entries({ ...i.refused, ...Object.fromEntries(Object.entries(i.closedByServer).map(([k, v]) => [`closed ${k}`, v])) }).map(([k, v]) => `${k}: ${v}`).join(', ') || (i.connectFailures ? `${i.connectFailures} could not connect` : 'none'),
    firstReports === null ? '' : fmt(firstReports),
    describeBatchSizes(i.batchSizes),
  ];
  const detail = (['postgresql', 'pglite'] as const).flatMap((kind) => {
    const r = runs[kind] as IngestRun;
    return [detailRow(kind, 'saturated', r.saturated, r.warmUp.perSecond), ...(r.half ? [detailRow(kind, 'half load', r.half, null)] : [])];
  });
  return {
    tables: [
      { title: 'Ingest vs baseline', header: COMPARISON_HEADER, rows },
      {
        title: `Ingest detail (saturated window ${ctx.sizes.ingest.durationMs / 1000} s, half-load window ${ctx.sizes.ingest.halfDurationMs / 1000} s; each connection is one device reporting again ${ctx.sizes.ingest.spacingMs / 1000} s after its last report, or as soon as answered)`,
        header: ['run', 'accepted/s / offered', ...LOAD_HEADER, 'server peak RSS', 'generator CPU', 'other CPU', 'connections / fleet', 'refused', 'first reports/s', 'requests per round trip'],
        rows: detail,
      },
    ],
    notes: [
      ...(verify.cpuPercent < 90 ? [`The ES256 baseline got only ${fmt(verify.cpuPercent)} % of its core: it is understated.`] : []),
      ...contentionNote(
        (['postgresql', 'pglite'] as const).flatMap((kind) => {
          const r = runs[kind] as IngestRun;
          return [{ label: `${kind} saturated`, otherPercent: r.saturated.machine.otherPercent }, ...(r.half ? [{ label: `${kind} half load`, otherPercent: r.half.machine.otherPercent }] : [])];
        }),
      ),
      `CPU is a share of one core (the machine has ${ctx.machine.cpus}, shared by the server, the database and the load generator); the server is one Node process whose WebCrypto work runs on libuv's thread pool, so it can exceed 100 %.`,
      '"other CPU": everything else the machine ran during the window (other programs, kernel threads, the bench itself), from /proc/stat; high values mean a contended measurement.',
      'Saturated: more reports are offered than answered, so time to result there is mostly queueing; half load offers half the saturated rate: its time to result is the service time.',
      '"At the server": the bound of the bucket of `postern_ingest_seconds` (… 25, 50, 100 ms …) under which 99 % of the window\'s accepted reports got their result, from when the server began to verify each to when its result was ready (after the commit). What the agent measures beyond it is waiting: in the generator, in the kernel, for a core, and in the server\'s queue before it read the frame.',
      '"requests per round trip": the mean size of the server\'s batched database work in the window (devicesByKid: key lookups, ingest: one transaction storing many reports).',
      `"first reports/s": devices connecting, reporting once (their first report: a verdict change, audited) and disconnecting, ${ctx.sizes.warmUp.workers} generator processes. On PostgreSQL the whole fleet reports once; on PGlite only the devices that then stream.`,
    ],
    data: { baseline: verify, runs },
  };
}

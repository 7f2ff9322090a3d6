/**
 * Scale curve: how each measure (ingest, forward-auth, the dashboard's filtered search) moves
 * from 1,000 to 1,000,000 enrolled devices on PostgreSQL, with short windows at each size.
 * Devices are seeded with SQL: the ones that report (the ingest agents and the forward-auth
 * tokens, spread over the fleet) with their own derived keys, the rest with a placeholder key
 * they never use. Devices that reported get their posture by reporting, every other one a
 * copy of a reported device of its kind, so the whole fleet has a posture and a verdict.
 * Writes bench/results/scale-<time>.png beside the JSON. A measure is one entry of MEASURES.
 */
import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { deriveDevice, fillPostures, spread } from '../lib/fleet.js';
import { resultsDir } from '../lib/paths.js';
import { writePanelsPng, type Panel } from '../lib/plot.js';
import { CpuWindow } from '../lib/proc.js';
import { fmt, type LatencySummary } from '../lib/stats.js';
import { adminReader, readAdminToken, SEARCH_GOAL_MS, searchShapes, timeReads } from './dashboard.js';
import { deploy, koaBaselineOnce, measureAuthz, measureIngest, verifyBaselineOnce, warmUp, type AuthzFigures, type Deployment, type IngestFigures } from './flows.js';
import { contentionNote, loadCells, LOAD_HEADER, ms, pct, type ScenarioReport } from './report.js';
import type { decisionsOn } from './decisions.js';
import type { IngestRun } from './ingest.js';
import { measureCompliance, type ComplianceFigures } from './compliance.js';

const FULL_FLEETS = [1000, 10_000, 100_000, 1_000_000];
/** Fleets above this size keep no report history for the copied postures (gigabytes no measure reads). */
const HISTORY_UP_TO = 100_000;
const SEARCH_ROUNDS = 10;

/** What a measure is handed at one fleet size. */
interface SizeRun {
  ctx: RunContext;
  dep: Deployment;
  fleet: number;
  /** EAR tokens of the devices that reported in the warm-up. */
  tokens: Array<[number, string]>;
  baselines: Baselines;
}
interface Baselines {
  verify: { perSecond: number };
  koa: AuthzFigures;
}
/** One figure of a measure as the plot shows it: its value, and (when it has one) a same-run baseline to divide by. */
interface Figure {
  name: string;
  panel: 'throughput' | 'latency';
  value: number;
  relativeTo?: { name: string; value: number };
}
interface Measure<F> {
  name: string;
  header: string[];
  run(size: SizeRun): Promise<F & { reused?: boolean }>;
  cells(figures: F, baselines: Baselines): string[];
  figures(figures: F, baselines: Baselines): Figure[];
  /** How much CPU other programs took meanwhile (for the contention note). */
  otherPercent(figures: F): number;
}

const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`;

const ingestMeasure: Measure<IngestFigures> = {
  name: 'ingest',
  header: ['ingest/s', 'vs verify', ...LOAD_HEADER.map((h) => `ingest ${h}`)],
  async run({ ctx, dep, fleet }) {
    // The same measurement at the same size may already have run in this invocation.
    const reused = ctx.shared.get(`ingest:postgresql:${fleet}`) as IngestRun | undefined;
    if (reused) return { ...reused.saturated, reused: true };
    const { connections, spacingMs, warmupMs, durationMs } = scaleWindows(ctx).ingest;
    return measureIngest(ctx, dep, spread(fleet, Math.min(fleet, connections)), { connections, spacingMs, warmupMs, durationMs });
  },
  cells: (f, b) => [fmt(f.perSecond), ratio(f.perSecond, b.verify.perSecond), ...loadCells(f)],
  figures: (f, b) => [
    { name: 'ingest reports/s', panel: 'throughput', value: f.perSecond, relativeTo: { name: 'ES256 verify/s', value: b.verify.perSecond } },
    { name: 'ingest p99', panel: 'latency', value: f.latencyMs.p99 },
  ],
  otherPercent: (f) => f.machine.otherPercent,
};

const authzMeasure: Measure<AuthzFigures> = {
  name: 'forward-auth',
  header: ['authz req/s', 'vs verify', ...LOAD_HEADER.map((h) => `authz ${h}`)],
  async run({ ctx, dep, fleet, tokens, baselines }) {
    const reused = ctx.shared.get(`decisions:postgresql:${fleet}`) as Awaited<ReturnType<typeof decisionsOn>> | undefined;
    if (reused) return { ...reused.saturated, reused: true };
    return measureAuthz(ctx, { kind: 'postern', url: dep.server.url, pid: dep.server.pid, dbPids: () => dep.dbPids() }, tokens, {
      expectedPerSecond: Math.min(baselines.koa.perSecond, 8000),
      durationS: scaleWindows(ctx).authzS,
    });
  },
  cells: (f, b) => [fmt(f.perSecond), ratio(f.perSecond, b.verify.perSecond), ...loadCells(f)],
  figures: (f, b) => [
    { name: 'forward-auth req/s', panel: 'throughput', value: f.perSecond, relativeTo: { name: 'ES256 verify/s', value: b.verify.perSecond } },
    { name: 'forward-auth p99', panel: 'latency', value: f.latencyMs.p99 },
  ],
  otherPercent: (f) => f.machine.otherPercent,
};

const complianceMeasure: Measure<ComplianceFigures> = {
  name: 'compliance',
  // No ratio here: the bare Koa baseline of this scenario is measured with the forward-auth load; the compliance scenario has its own.
  header: ['compliance req/s', 'compliance p50 / p99'],
  async run({ ctx, dep, tokens }) {
    const { key } = await dep.server.adminCli<{ key: string }>(['gateway-key', 'create', '--name', 'bench-scale']);
    const deviceIds = tokens.map(([index]) => deriveDevice(index).id);
    return measureCompliance(ctx, { kind: 'postern', url: dep.server.url, pid: dep.server.pid, dbPids: () => dep.dbPids() }, { key, deviceIds }, scaleWindows(ctx).authzS);
  },
  cells: (f) => [fmt(f.perSecond), `${ms(f.latency.p50)} / ${ms(f.latency.p99)}`],
  figures: (f) => [
    { name: 'compliance API req/s', panel: 'throughput', value: f.perSecond },
    { name: 'compliance API p99', panel: 'latency', value: f.latency.p99 },
  ],
  otherPercent: (f) => f.otherPercent,
};

interface SearchFigures {
  reads: Array<{ label: string; latencyMs: LatencySummary }>;
  /** The slowest shape's p50 and p99. */
  worstP50: number;
  worstP99: number;
  /** Server and database CPU seconds per search, over all the timed reads. */
  serverCpuMsPerRead: number;
  databaseCpuMsPerRead: number;
}

const searchMeasure: Measure<SearchFigures> = {
  name: 'search',
  header: ['search worst p50', 'search worst p99', 'search CPU per read (server / database)'],
  async run({ ctx, dep, fleet }) {
    const get = adminReader(dep.server.url, await readAdminToken(dep.dataDir));
    const shapes = await searchShapes(get, { hostnamePrefix: `bench-${String(Math.floor(fleet / 3)).slice(0, 4)}` });
    const serverCpu = new CpuWindow(() => [dep.server.pid]);
    const dbCpu = new CpuWindow(() => dep.dbPids());
    serverCpu.start();
    dbCpu.start();
    const reads = await timeReads(ctx, get, shapes, { rounds: SEARCH_ROUNDS, label: `scale ${fmt(fleet)} search` });
    const requests = shapes.length * (SEARCH_ROUNDS + 3);
    const server = serverCpu.stop();
    const database = dbCpu.stop();
    return {
      reads,
      worstP50: Math.max(...reads.map((r) => r.latencyMs.p50)),
      worstP99: Math.max(...reads.map((r) => r.latencyMs.p99)),
      serverCpuMsPerRead: (server.seconds * 1000) / requests,
      databaseCpuMsPerRead: (database.seconds * 1000) / requests,
    };
  },
  cells: (f) => [ms(f.worstP50), ms(f.worstP99), `${ms(f.serverCpuMsPerRead)} / ${ms(f.databaseCpuMsPerRead)}`],
  figures: (f) => [
    { name: 'search p99 (slowest filter)', panel: 'latency', value: f.worstP99, relativeTo: { name: `${SEARCH_GOAL_MS} ms goal`, value: SEARCH_GOAL_MS } },
    { name: 'search p50 (slowest filter)', panel: 'latency', value: f.worstP50 },
  ],
  otherPercent: () => 0,
};

/** A measure whose figures are only handed back to it (each keeps its own figures' type). */
const erased = <F>(m: Measure<F>): Measure<unknown> => ({
  ...m,
  run: (size) => m.run(size),
  cells: (f, b) => m.cells(f as F, b),
  figures: (f, b) => m.figures(f as F, b),
  otherPercent: (f) => m.otherPercent(f as F),
});

/** What the curve measures at each size, in order; adding one is adding an entry. */
const MEASURES: ReadonlyArray<Measure<unknown>> = [erased(ingestMeasure), erased(authzMeasure), erased(complianceMeasure), erased(searchMeasure)];

/** Short windows at every size, so the curve to a million stays within minutes. */
function scaleWindows(ctx: RunContext) {
  const { connections, spacingMs, warmupMs, durationMs } = ctx.sizes.ingest;
  return ctx.options.quick
    ? { ingest: { connections: connections.postgresql, spacingMs, warmupMs, durationMs }, authzS: ctx.sizes.authz.durationS }
    : { ingest: { connections: connections.postgresql, spacingMs, warmupMs: 2000, durationMs: 8000 }, authzS: 5 };
}

/** POSTERN_BENCH_SCALE_FLEETS=1000,1000000 picks the sizes; by default 1k to 1M (--quick: the small ones). */
function fleetsOf(ctx: RunContext): number[] {
  const named = process.env.POSTERN_BENCH_SCALE_FLEETS;
  if (named) {
    const fleets = named.split(',').map((s) => Number(s.trim()));
    if (fleets.some((n) => !Number.isInteger(n) || n < 100)) throw new Error(`POSTERN_BENCH_SCALE_FLEETS=${named}: give whole numbers of devices of at least 100, separated by commas`);
    return fleets;
  }
  return ctx.options.quick ? ctx.sizes.scale.fleets : FULL_FLEETS;
}

interface Point {
  fleet: number;
  seed: Deployment['seed'] & { fillSeconds: number };
  warmUpPerSecond: number;
  /** Wall time of this size, from seeding to the last measure. */
  seconds: number;
  measures: Record<string, unknown>;
}

export async function scaleScenario(ctx: RunContext): Promise<ScenarioReport> {
  const verify = await verifyBaselineOnce(ctx);
  const points: Point[] = [];
  let baselines: Baselines | null = null;
  const windows = scaleWindows(ctx);
  for (const fleet of fleetsOf(ctx)) {
    const started = performance.now();
    const tokenDevices = spread(fleet, Math.min(fleet, ctx.sizes.scale.tokens));
    const keyed = [...new Set([...tokenDevices, ...spread(fleet, Math.min(fleet, windows.ingest.connections))])];
    const dep = await deploy(ctx, 'postgresql', fleet, { label: `scale-${fleet}`, keyed });
    try {
      ctx.log(`scale ${fmt(fleet)}: ${fmt(dep.seed.keyed)} devices with their own keys (they report), ${fmt(fleet - dep.seed.keyed)} with a placeholder key (they never report)`);
      const warm = await warmUp(ctx, dep, tokenDevices);
      const fill = await fillPostures(dep.databaseUrl as string, { history: fleet <= HISTORY_UP_TO });
      ctx.log(`scale ${fmt(fleet)}: copied postures to ${fmt(fill.filled)} more devices in ${fill.seconds.toFixed(1)} s`);
      baselines ??= { verify, koa: await koaBaselineOnce(ctx, warm.tokens) };
      const measures: Record<string, unknown> = {};
      for (const measure of MEASURES) measures[measure.name] = await measure.run({ ctx, dep, fleet, tokens: warm.tokens, baselines });
      const seconds = (performance.now() - started) / 1000;
      ctx.log(`scale ${fmt(fleet)}: done in ${seconds.toFixed(0)} s (seed ${(dep.seed.keySeconds + dep.seed.insertSeconds).toFixed(1)} s, fill ${fill.seconds.toFixed(1)} s)`);
      points.push({ fleet, seed: { ...dep.seed, fillSeconds: fill.seconds }, warmUpPerSecond: warm.perSecond, seconds, measures });
    } finally {
      await dep.stop();
    }
  }
  if (!baselines) throw new Error('the scale scenario ran no size');
  const b = baselines;
  const rows = points.map((p) => [
    fmt(p.fleet),
    ...MEASURES.flatMap((m) => m.cells(p.measures[m.name], b)),
    MEASURES.map((m) => pct(m.otherPercent(p.measures[m.name]))).join(' / '),
    `${fmt(p.seed.keySeconds + p.seed.insertSeconds + p.seed.fillSeconds, 1)} s`,
    `${fmt(p.seconds, 0)} s`,
  ]);
  const png = join(resultsDir, `scale-${ctx.stamp}.png`);
  // A plot that fails must not throw away the sizes measured.
  let plotted = true;
  await writePanelsPng(png, 'enrolled devices (log scale)', plotPanels(points, b)).catch((error: unknown) => {
    plotted = false;
    ctx.log(`scale: the plot failed: ${(error as Error).message}`);
  });
  if (plotted) ctx.log(`scale: plot → ${png}`);
  const reused = points.filter((p) => MEASURES.some((m) => (p.measures[m.name] as { reused?: boolean }).reused));
  return {
    tables: [
      {
        title: `Scale curve on PostgreSQL (baselines this run: ${fmt(verify.perSecond)} ES256 verify/s on one core; bare Koa ${fmt(b.koa.perSecond)} req/s)`,
        header: ['enrolled devices', ...MEASURES.flatMap((m) => m.header), `other CPU (${MEASURES.map((m) => m.name).join(' / ')})`, 'seed time', 'size time'],
        rows,
      },
    ],
    notes: [
      ...contentionNote(points.flatMap((p) => MEASURES.map((m) => ({ label: `${fmt(p.fleet)} ${m.name}`, otherPercent: m.otherPercent(p.measures[m.name]) })))),
      `Ingest: ${fmt(windows.ingest.connections)} agents spread over the fleet, each reporting again ${windows.ingest.spacingMs / 1000} s after its last report or as soon as answered, ${windows.ingest.durationMs / 1000} s window. Forward-auth: tokens of ${fmt(ctx.sizes.scale.tokens)} devices spread over the fleet (all of them below that), ${ctx.sizes.authz.connections} connections, saturated, ${windows.authzS} s window. Search: ${SEARCH_ROUNDS} rounds of each filter shape of the dashboard scenario, one request at a time; worst = the slowest shape.`,
      `Seed: only the devices that report (the agents and the token devices, at most ${fmt(points.at(-1)?.seed.keyed ?? 0)}) get their own derived P-256 key; the rest are written by one generate_series statement with a placeholder key and never report. Seed time includes copying a reported device's posture and standing to every other device of its kind${points.some((p) => p.fleet > HISTORY_UP_TO) ? ` (above ${fmt(HISTORY_UP_TO)} devices without a history row)` : ''}.`,
      `Plot: ${png}`,
      ...(reused.length ? [`Fleets ${reused.map((p) => fmt(p.fleet)).join(', ')}: ingest and forward-auth are the figures of the ingest and decisions scenarios of this run (same sizes, same PostgreSQL).`] : []),
    ],
    data: { baseline: b, points, plot: png },
  };
}

/** Absolute throughput and latency per fleet size, and every figure that has a same-run baseline divided by it. */
function plotPanels(points: readonly Point[], baselines: Baselines): Panel[] {
  const byName = new Map<string, Figure & { points: Array<{ x: number; y: number; relative: number | null }> }>();
  for (const p of points) {
    for (const m of MEASURES) {
      for (const f of m.figures(p.measures[m.name], baselines)) {
        const entry = byName.get(f.name) ?? { ...f, points: [] };
        entry.points.push({ x: p.fleet, y: f.value, relative: f.relativeTo ? f.value / f.relativeTo.value : null });
        byName.set(f.name, entry);
      }
    }
  }
  const figures = [...byName.values()];
  const series = (panel: Figure['panel']) => figures.filter((f) => f.panel === panel).map((f) => ({ name: f.name, points: f.points }));
  return [
    { title: 'Throughput', y: 'per second (log scale)', logY: true, series: series('throughput') },
    { title: 'Latency', y: 'ms (log scale)', logY: true, series: series('latency') },
    {
      title: 'Relative to this run’s baselines',
      y: 'figure ÷ baseline (log scale)',
      logY: true,
      series: figures.filter((f) => f.relativeTo).map((f) => ({ name: `${f.name} ÷ ${f.relativeTo?.name}`, points: f.points.map((p) => ({ x: p.x, y: p.relative ?? NaN })) })),
    },
  ];
}

/**
 * The steps scenarios share: deploy a server on a seeded fleet, let devices report once
 * (which also yields their EAR tokens), measure steady ingest, measure forward-auth, and
 * the two baselines.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { fillPostures, seedDevices, spread, type SeedFigures } from '../lib/fleet.js';
import { CpuWindow, MachineWindow, memory } from '../lib/proc.js';
import { BenchServer } from '../lib/server.js';
import { Reservoir, summarize, type LatencySummary } from '../lib/stats.js';
import { meanBatchSizes, readBatchCounts } from '../lib/batch-metrics.js';
import { quantileBoundMs, readBuckets, readRouteBuckets } from '../lib/server-histogram.js';
import { forkWorker, startWorker, type WorkerHandle } from '../lib/workers.js';
import type { IngestLoadResult, ReportOnceResult } from '../load/agents.js';
import type { AuthzLoadParams, AuthzLoadResult } from '../load/authz.js';
import type { VerifyBaselineResult } from '../load/verify.js';

export type DbKind = 'postgresql' | 'pglite';

export interface Deployment {
  kind: DbKind;
  fleet: number;
  server: BenchServer;
  databaseUrl: string | undefined;
  dataDir: string;
  seed: SeedFigures;
  /** Processes of the database (PostgreSQL's cluster; PGlite lives inside the server). */
  dbPids(): number[];
  stop(graceMs?: number): Promise<void>;
}

export async function deploy(ctx: RunContext, kind: DbKind, fleet: number, options: { label: string; nodeArgs?: string[]; raiseFileLimit?: boolean; inspect?: boolean; env?: Record<string, string>; keyed?: readonly number[] }): Promise<Deployment> {
  const dataDir = ctx.dir(options.label);
  const databaseUrl = kind === 'postgresql' ? await ctx.newDatabase(options.label) : undefined;
  const pg = kind === 'postgresql' ? await ctx.postgres() : undefined;
  ctx.log(`${options.label}: seeding ${fleet.toLocaleString('en-US')} devices into ${kind}`);
  const seed = await seedDevices({ ...(databaseUrl ? { databaseUrl } : {}), dataDir }, fleet, options.keyed);
  ctx.log(`${options.label}: keys ${seed.keySeconds.toFixed(1)} s, rows ${seed.insertSeconds.toFixed(1)} s; starting postern-server`);
  const server = await BenchServer.start({
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir,
    logFile: join(dataDir, 'server.log'),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.raiseFileLimit ? { raiseFileLimit: true } : {}),
    ...(options.inspect ? { inspect: true } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  return {
    kind,
    fleet,
    server,
    databaseUrl,
    dataDir,
    seed,
    dbPids: () => pg?.pids() ?? [],
    stop: (graceMs?: number) => server.stop(graceMs),
  };
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: Math.max(1, parts) }, () => []);
  items.forEach((item, i) => out[i % out.length]?.push(item));
  return out.filter((p) => p.length > 0);
}

export type WarmUp = Pick<ReportOnceResult, 'tokens' | 'accepted' | 'failures' | 'refused' | 'verdicts' | 'seconds' | 'perSecond'>;

/** Every given device connects, reports once and disconnects; returns the EAR tokens. */
export async function warmUp(ctx: RunContext, dep: Deployment, indices: number[]): Promise<WarmUp> {
  const { concurrency, workers } = ctx.sizes.warmUp;
  const started = performance.now();
  const results = await Promise.all(
    split(indices, workers).map((part, i) => startWorker<ReportOnceResult>(`report-once ${i}`, 'report-once', { url: dep.server.url, indices: part, concurrency }).result),
  );
  const seconds = (performance.now() - started) / 1000;
  const merged: WarmUp = { tokens: [], accepted: 0, failures: 0, refused: {}, verdicts: {}, seconds, perSecond: 0 };
  for (const r of results) {
    merged.tokens.push(...r.tokens);
    merged.accepted += r.accepted;
    merged.failures += r.failures;
    for (const [k, v] of Object.entries(r.refused)) merged.refused[k] = (merged.refused[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.verdicts)) merged.verdicts[k] = (merged.verdicts[k] ?? 0) + v;
    if (r.failureSamples.length) ctx.log(`warm-up failures: ${r.failureSamples.join(' | ')}`);
  }
  merged.perSecond = merged.accepted / seconds;
  ctx.log(`warm-up: ${merged.accepted}/${indices.length} devices reported once in ${seconds.toFixed(1)} s (${merged.perSecond.toFixed(0)}/s)`);
  if (merged.accepted < indices.length * 0.99) throw new Error(`warm-up: only ${merged.accepted} of ${indices.length} devices were accepted (${JSON.stringify(merged.refused)}, failures ${merged.failures})`);
  return merged;
}

/** PostgreSQL: every device without a stored posture gets one (see fillPostures). */
export async function fillFleet(ctx: RunContext, dep: Deployment): Promise<void> {
  if (!dep.databaseUrl) return;
  const { filled, seconds } = await fillPostures(dep.databaseUrl);
  if (filled > 0) ctx.log(`filled stored postures of ${filled.toLocaleString('en-US')} more devices in ${seconds.toFixed(1)} s`);
}

/**
 * The whole machine during a window: everything that ran (100 % = one core), what of it was
 * not the processes under test nor the load generators, and the hypervisor's steal.
 */
export interface MachineFigures {
  busyPercent: number;
  otherPercent: number;
  stealPercent: number;
}

function machineFigures(machine: { busyPercent: number; stealPercent: number }, ours: number): MachineFigures {
  return { busyPercent: machine.busyPercent, otherPercent: Math.max(0, machine.busyPercent - ours), stealPercent: machine.stealPercent };
}

export interface ProcessFigures {
  cpuPercent: number;
  cpuSeconds: number;
}

/** What the generators counted (summed over them), and what the bench measured around them. */
export interface IngestFigures extends Pick<IngestLoadResult, 'connections' | 'connectFailures' | 'windowSeconds' | 'accepted' | 'perSecond' | 'refused' | 'closedByServer'> {
  db: DbKind;
  fleet: number;
  /** Reports per second the connections would send if every answer came at once. */
  offeredPerSecond: number;
  latencyMs: LatencySummary;
  server: ProcessFigures & { rssMiB: number; peakRssMiB: number };
  database: ProcessFigures;
  generators: { processes: number; cpuPercent: number[] };
  machine: MachineFigures;
  /** The window on the monotonic clock (µs), to cut a CPU profile to it. */
  windowUs: [number, number];
  /** Requests per batched database round trip in the window, by batch (server metrics). */
  batchSizes: Record<string, number>;
  /** The server's own p99 time to result over the window (`postern_ingest_seconds`), as its bucket's bound (ms). */
  serverP99BoundMs: number | null;
}

export interface IngestShape {
  connections: number;
  /** Each connection reports again this long after its previous report went out (or when answered, if later). */
  spacingMs: number;
  warmupMs: number;
  durationMs: number;
}

/** Steady ingest over the given devices (one connection each), measured in a window. */
export async function measureIngest(ctx: RunContext, dep: Deployment, indices: number[], shape: IngestShape): Promise<IngestFigures> {
  const { spacingMs, warmupMs, durationMs, connections } = shape;
  const { workers } = ctx.sizes.ingest;
  const chosen = spread(indices.length, Math.min(connections, indices.length)).map((i) => indices[i] as number);
  const gens = split(chosen, workers).map((part, i) =>
    startWorker<IngestLoadResult>(`ingest ${i}`, 'ingest', { url: dep.server.url, indices: part, spacingMs, warmupMs, durationMs, connectConcurrency: 100 }),
  );
  const serverCpu = new CpuWindow(() => [dep.server.pid]);
  const dbCpu = new CpuWindow(() => dep.dbPids());
  const machineCpu = new MachineWindow();
  await Promise.all(gens.map((g) => g.once('connected', 120_000)));
  const starts = gens.map((g) => g.once('window-start', warmupMs + 60_000));
  const ends = gens.map((g) => g.once('window-end', warmupMs + durationMs + 60_000));
  for (const g of gens) g.command('go');
  await Promise.race(starts);
  serverCpu.start();
  dbCpu.start();
  machineCpu.start();
  const windowStartUs = monotonicUs();
  const batchesBefore = await readBatchCounts(dep.server.url);
  const resultsBefore = await readBuckets(dep.server.url, INGEST_HISTOGRAM);
  await Promise.all(ends);
  const windowUs: [number, number] = [windowStartUs, monotonicUs()];
  const server = serverCpu.stop();
  const database = dbCpu.stop();
  const machine = machineCpu.stop();
  const batchSizes = meanBatchSizes(batchesBefore, await readBatchCounts(dep.server.url));
  const serverP99BoundMs = quantileBoundMs(resultsBefore, await readBuckets(dep.server.url, INGEST_HISTOGRAM), 0.99);
  const memory = dep.server.memory();
  const results = await Promise.all(gens.map((g) => g.result));
  const latency = new Reservoir(1_000_000);
  const merged = { accepted: 0, refused: {} as Record<string, number>, closedByServer: {} as Record<string, number>, connectFailures: 0, connections: 0 };
  for (const r of results) {
    merged.accepted += r.accepted;
    merged.connectFailures += r.connectFailures;
    merged.connections += r.connections;
    for (const v of r.latencySamples) latency.add(v);
    for (const [k, v] of Object.entries(r.refused)) merged.refused[k] = (merged.refused[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.closedByServer)) merged.closedByServer[k] = (merged.closedByServer[k] ?? 0) + v;
    if (r.failureSamples.length) ctx.log(`ingest generator failures: ${r.failureSamples.join(' | ')}`);
  }
  const windowSeconds = Math.max(...results.map((r) => r.windowSeconds));
  return {
    db: dep.kind,
    fleet: dep.fleet,
    connections: merged.connections,
    offeredPerSecond: (merged.connections * 1000) / spacingMs,
    windowSeconds,
    accepted: merged.accepted,
    perSecond: merged.accepted / windowSeconds,
    latencyMs: { ...summarize(latency.samples()), count: merged.accepted },
    refused: merged.refused,
    closedByServer: merged.closedByServer,
    connectFailures: merged.connectFailures,
    server: { cpuPercent: server.percent, cpuSeconds: server.seconds, rssMiB: memory.rss / 2 ** 20, peakRssMiB: memory.peak / 2 ** 20 },
    database: { cpuPercent: database.percent, cpuSeconds: database.seconds },
    generators: { processes: results.length, cpuPercent: results.map((r) => r.generatorCpuPercent) },
    machine: machineFigures(machine, server.percent + database.percent + results.reduce((n, r) => n + r.generatorCpuPercent, 0)),
    windowUs,
    batchSizes,
    serverP99BoundMs,
  };
}

export interface AuthzFigures {
  target: 'postern' | 'bare-koa';
  devices: number;
  connections: number;
  overallRate: number | null;
  windowSeconds: number;
  requests: number;
  perSecond: number;
  latencyMs: LatencySummary;
  statuses: Record<string, number>;
  errors: number;
  exhausted: boolean;
  proofsPerSecond: number;
  server: ProcessFigures & { rssMiB: number };
  database: ProcessFigures;
  generatorCpuPercent: number;
  machine: MachineFigures;
  windowUs: [number, number];
  /** Requests per batched database round trip in the window, by batch; null for the baseline. */
  batchSizes: Record<string, number> | null;
  /** The server's own p99 over the window, as the bound of its histogram's bucket (ms); null for the baseline. */
  serverP99BoundMs: number | null;
}

/** Forward-auth (or the bare-Koa baseline, the same way) against `url`, measured in a window. */
export async function measureAuthz(
  ctx: RunContext,
  target: { kind: 'postern' | 'bare-koa'; url: string; pid: number; dbPids: () => number[] },
  tokens: Array<[number, string]>,
  options: { overallRate?: number; durationS?: number; expectedPerSecond?: number } = {},
): Promise<AuthzFigures> {
  const { connections, warmupS } = ctx.sizes.authz;
  const durationS = options.durationS ?? ctx.sizes.authz.durationS;
  const unique = target.kind === 'postern';
  // Enough unique proofs for the whole run at the expected rate, with half again as margin.
  const rate = options.overallRate ?? options.expectedPerSecond ?? 5000;
  // (At most 60k, a few seconds of signing: a faster server uses them up early and its window is shorter.)
  // (Plus one for each device, spent on asking about every device once before the load.)
  const proofs = unique ? Math.min(60_000, Math.ceil(rate * (warmupS + durationS) * 1.5) + 1000) + tokens.length : Math.min(20_000, tokens.length * 2);
  const params: AuthzLoadParams = { target: `${target.url}/v1/authz`, tokens, proofs, unique, connections, warmupS, durationS, ...(options.overallRate ? { overallRate: options.overallRate } : {}) };
  const gen: WorkerHandle<AuthzLoadResult> = startWorker('authz', 'authz', params);
  const serverCpu = new CpuWindow(() => [target.pid]);
  const dbCpu = new CpuWindow(() => target.dbPids());
  const machineCpu = new MachineWindow();
  await gen.once('window-start', 180_000);
  serverCpu.start();
  dbCpu.start();
  machineCpu.start();
  const windowStartUs = monotonicUs();
  const batchesBefore = target.kind === 'postern' ? await readBatchCounts(target.url) : null;
  const latencyBefore = target.kind === 'postern' ? await readRouteBuckets(target.url, AUTHZ_ROUTE) : null;
  await gen.once('window-end', (durationS + 60) * 1000);
  const windowUs: [number, number] = [windowStartUs, monotonicUs()];
  const server = serverCpu.stop();
  const database = dbCpu.stop();
  const machine = machineCpu.stop();
  const batchSizes = batchesBefore ? meanBatchSizes(batchesBefore, await readBatchCounts(target.url)) : null;
  const serverP99BoundMs = latencyBefore ? quantileBoundMs(latencyBefore, await readRouteBuckets(target.url, AUTHZ_ROUTE), 0.99) : null;
  const r = await gen.result;
  const { rss } = memory(target.pid);
  return {
    target: target.kind,
    devices: r.devices,
    connections,
    overallRate: options.overallRate ?? null,
    windowSeconds: r.windowSeconds,
    requests: r.requests,
    perSecond: r.perSecond,
    latencyMs: r.latency,
    statuses: r.statuses,
    errors: r.errors,
    exhausted: r.exhausted,
    proofsPerSecond: r.proofsPerSecond,
    server: { cpuPercent: server.percent, cpuSeconds: server.seconds, rssMiB: rss / 2 ** 20 },
    database: { cpuPercent: database.percent, cpuSeconds: database.seconds },
    generatorCpuPercent: r.generatorCpuPercent,
    machine: machineFigures(machine, server.percent + database.percent + r.generatorCpuPercent),
    windowUs,
    batchSizes,
    serverP99BoundMs,
  };
}

/** The server's histogram of each accepted report's time from arrival to result. */
const INGEST_HISTOGRAM = 'postern_ingest_seconds';

/** Forward-auth's route template, as the server's request histogram labels it. */
const AUTHZ_ROUTE = '/v1/authz';

/** CLOCK_MONOTONIC in µs: the clock V8 stamps CPU profile samples with, in every process. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export type VerifyFigures = VerifyBaselineResult & { pinnedTo: string | null };

/** Raw ES256 verifications per second on one core, measured once per run (the first measurement of `measureVerify`). */
export async function verifyBaselineOnce(ctx: RunContext): Promise<VerifyFigures> {
  const cached = ctx.shared.get('baseline:verify') as VerifyFigures | undefined;
  if (cached) return cached;
  const result = await measureVerify(ctx);
  ctx.shared.set('baseline:verify', result);
  return result;
}

/** Raw ES256 verifications per second on one core, measured now, in a process of its own. */
export async function measureVerify(ctx: RunContext): Promise<VerifyFigures> {
  const worker = forkWorker<VerifyBaselineResult>('verify-baseline');
  let pinnedTo: string | null = null;
  try {
    // All threads of the process (V8's and libuv's, WebCrypto runs on the latter) on one CPU.
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(worker.pid)], { stdio: 'ignore' });
    pinnedTo = 'cpu0';
  } catch {
    ctx.log('taskset is not available: the ES256 baseline runs unpinned');
  }
  worker.start('verify-baseline', ctx.sizes.verify);
  const result = { ...(await worker.result), pinnedTo };
  ctx.log(`baseline: ${result.perSecond.toFixed(0)} ES256 verifications/s on one core (${pinnedTo ?? 'unpinned'}, ${result.cpuPercent.toFixed(0)} % CPU)`);
  return result;
}

/** The bare Koa baseline server, in its own process. */
export async function startKoa(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const koa = startWorker<{ served: number }>('bare-koa', 'koa-server', {});
  const { url } = (await koa.once('listening', 30_000)) as { url: string };
  return {
    url,
    pid: koa.pid,
    stop: async () => {
      koa.command('stop');
      await koa.result.catch(() => undefined);
    },
  };
}

/** A bare Koa app answering 200, hammered as forward-auth is, saturated (measured once per run). */
export async function koaBaselineOnce(ctx: RunContext, tokens: Array<[number, string]>): Promise<AuthzFigures> {
  const cached = ctx.shared.get('baseline:koa') as AuthzFigures | undefined;
  if (cached) return cached;
  const koa = await startKoa();
  try {
    const figures = await measureAuthz(ctx, { kind: 'bare-koa', url: koa.url, pid: koa.pid, dbPids: () => [] }, tokens);
    ctx.log(`baseline: bare Koa ${figures.perSecond.toFixed(0)} req/s, p99 ${figures.latencyMs.p99.toFixed(2)} ms (server ${figures.server.cpuPercent.toFixed(0)} % CPU, generator ${figures.generatorCpuPercent.toFixed(0)} %)`);
    ctx.shared.set('baseline:koa', figures);
    return figures;
  } finally {
    await koa.stop();
  }
}

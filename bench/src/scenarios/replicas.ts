/**
 * Replicas: N postern-server processes on one PostgreSQL behind nginx (least_conn), for N = 1
 * and 2 by default (`--replicas 1,2,4` or POSTERN_BENCH_REPLICAS=1,2,4 for more). For each N:
 * ingest attestations/s and forward-auth requests/s through nginx, with the CPU-seconds of the
 * replicas (summed), of PostgreSQL and of nginx, and throughput per server CPU-second, so the
 * efficiency of a replica can be read on a machine too small to show the sum scale. At the
 * same time it counts what must hold across replicas: every attestation answered exactly once
 * and stored once, no 5xx, tokens of one replica accepted by every other, and a DPoP proof
 * spent on one replica refused on the others. docs/scale-out.md explains the figures.
 */
import pg from 'pg';
import { createDpopProof } from '@postern/agent';
import { freePort } from '@postern/testkit/free-port';
import type { RunContext } from '../context.js';
import { deriveDevice, deviceKey, seedDevices, spread } from '../lib/fleet.js';
import { BenchNginx, type AccessLogEntry } from '../lib/nginx.js';
import { CpuWindow, MachineWindow } from '../lib/proc.js';
import { BenchServer } from '../lib/server.js';
import { fmt, Reservoir, summarize, type LatencySummary } from '../lib/stats.js';
import { startWorker, type WorkerHandle } from '../lib/workers.js';
import type { AnswerCounts, IngestLoadResult, ReportOnceResult } from '../load/agents.js';
import type { AuthzLoadParams, AuthzLoadResult } from '../load/authz.js';
import { contentionNote, ms, pct, type ScenarioReport } from './report.js';

export const REPLICAS_ENV = 'POSTERN_BENCH_REPLICAS';
const DEFAULT_COUNTS = [1, 2];
/** Proofs spent on one replica and presented again, per N. */
const REPLAYS = 40;

/** `1,2,4` → [1, 2, 4]; what else is given is refused with what to write instead. */
export function parseReplicaCounts(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return DEFAULT_COUNTS;
  const counts = text.split(',').map((part) => Number(part.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) throw new Error(`replica counts "${text}" are not a comma-separated list of whole numbers from 1 to 64 (e.g. 1,2,4)`);
  return [...new Set(counts)].sort((a, b) => a - b);
}

interface Cluster {
  n: number;
  servers: BenchServer[];
  nginx: BenchNginx;
  databaseUrl: string;
  dbPids(): number[];
}

async function startCluster(ctx: RunContext, n: number, fleet: number): Promise<Cluster & { stop(): Promise<void> }> {
  const label = `replicas-${n}`;
  const databaseUrl = await ctx.newDatabase(label);
  const postgres = await ctx.postgres();
  ctx.log(`${label}: seeding ${fmt(fleet)} devices`);
  await seedDevices({ databaseUrl, dataDir: ctx.dir(`${label}-seed`) }, fleet);
  // Every replica names nginx as its public URL: the issuer of its tokens and the URL proofs are made for.
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const servers: BenchServer[] = [];
  let nginx: BenchNginx | undefined;
  const stop = async () => {
    await nginx?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 1; i <= n; i++) {
      const dataDir = ctx.dir(`${label}-replica-${i}`);
      servers.push(
        await BenchServer.start({ databaseUrl, dataDir, logFile: `${dataDir}/server.log`, raiseFileLimit: true, env: { POSTERN_PUBLIC_URL: publicUrl, POSTERN_TRUST_PROXY: '1' } }),
      );
    }
    nginx = await BenchNginx.start({ dir: ctx.dir(`${label}-nginx`), port, upstreams: servers.map((s) => new URL(s.url).host) });
    ctx.log(`${label}: ${servers.map((s) => s.url).join(', ')} behind nginx at ${nginx.url}`);
    return { n, servers, nginx, databaseUrl, dbPids: () => postgres.pids(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** CPU-seconds of each part of the deployment, and of the whole machine, over one window. */
interface CpuFigures {
  wallSeconds: number;
  /** Each replica's. */
  replicas: number[];
  /** Their sum: "server CPU". */
  servers: number;
  database: number;
  nginx: number;
  machineBusyPercent: number;
  /** What the machine ran besides the deployment and the load generators, % of a core. */
  otherPercent: number;
}

/** Stopped as the load window ends; the generators' own CPU, known once they report, is taken out of "other" after. */
function cpuMeter(cluster: Cluster): { start(): void; stop(): CpuFigures } {
  const replicas = cluster.servers.map((s) => new CpuWindow(() => [s.pid]));
  const database = new CpuWindow(() => cluster.dbPids());
  const nginx = new CpuWindow(() => cluster.nginx.pids());
  const machine = new MachineWindow();
  return {
    start() {
      for (const w of [...replicas, database, nginx]) w.start();
      machine.start();
    },
    stop() {
      const perReplica = replicas.map((w) => w.stop());
      const db = database.stop();
      const lb = nginx.stop();
      const busy = machine.stop().busyPercent;
      const servers = perReplica.reduce((sum, r) => sum + r.seconds, 0);
      const wallSeconds = db.wallSeconds;
      const ours = (100 * (servers + db.seconds + lb.seconds)) / wallSeconds;
      return { wallSeconds, replicas: perReplica.map((r) => r.seconds), servers, database: db.seconds, nginx: lb.seconds, machineBusyPercent: busy, otherPercent: Math.max(0, busy - ours) };
    },
  };
}

function lessGenerators(cpu: CpuFigures, generatorPercent: number): CpuFigures {
  return { ...cpu, otherPercent: Math.max(0, cpu.otherPercent - generatorPercent) };
}

/** The devices dealt round-robin to `workers` generator processes (fewer when there are fewer devices). */
function dealt(indices: readonly number[], workers: number): number[][] {
  return Array.from({ length: Math.max(1, workers) }, (_, w) => indices.filter((_, i) => i % workers === w)).filter((part) => part.length > 0);
}

/** Every device reports once through nginx (its first report, audited); the EAR tokens come back. */
async function reportOnceEach(ctx: RunContext, cluster: Cluster, indices: number[]): Promise<Array<[number, string]>> {
  const { concurrency, workers } = ctx.sizes.warmUp;
  const parts = dealt(indices, workers);
  const results = await Promise.all(parts.map((part, i) => startWorker<ReportOnceResult>(`report-once ${i}`, 'report-once', { url: cluster.nginx.url, indices: part, concurrency }).result));
  const tokens = results.flatMap((r) => r.tokens);
  for (const r of results) if (r.failureSamples.length) ctx.log(`report-once failures: ${r.failureSamples.join(' | ')}`);
  if (tokens.length < indices.length) throw new Error(`replicas ${cluster.n}: only ${tokens.length} of ${indices.length} devices got a result for their first report (${JSON.stringify(results.map((r) => r.refused))})`);
  return tokens;
}

/** CPU of the deployment with no load: what every replica spends whatever it serves (sweeps, consumers, pool). */
async function measureIdle(cluster: Cluster, seconds: number): Promise<CpuFigures> {
  const meter = cpuMeter(cluster);
  meter.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return meter.stop();
}

/** What the generators counted, summed over them, and what the bench measured around them. */
interface IngestPoint extends Pick<IngestLoadResult, 'connections' | 'perSecond' | 'refused' | 'closedByServer' | 'connectFailures' | 'answers'> {
  offeredPerSecond: number;
  latencyMs: LatencySummary;
  cpu: CpuFigures;
  generatorPercent: number;
  /** Report rows PostgreSQL stored during the run, and (device, seq) pairs stored more than once (ever). */
  stored: { rows: number; duplicates: number };
}

async function attestationRows(databaseUrl: string): Promise<{ rows: number; duplicates: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ rows: string; duplicates: string }>('select count(*) as rows, count(*) - count(distinct (device_id, seq)) as duplicates from attestations');
    return { rows: Number(rows[0]?.rows), duplicates: Number(rows[0]?.duplicates) };
  } finally {
    await client.end();
  }
}

/** Steady ingest through nginx: one stream per device, each reporting again `spacingMs` after the last. */
async function measureIngest(ctx: RunContext, cluster: Cluster, indices: number[]): Promise<IngestPoint> {
  const { spacingMs, warmupMs, durationMs, workers } = ctx.sizes.ingest;
  const parts = dealt(indices, workers);
  const before = await attestationRows(cluster.databaseUrl);
  const gens: Array<WorkerHandle<IngestLoadResult>> = parts.map((part, i) =>
    startWorker<IngestLoadResult>(`ingest ${i}`, 'ingest', { url: cluster.nginx.url, indices: part, spacingMs, warmupMs, durationMs, connectConcurrency: 100 }),
  );
  const meter = cpuMeter(cluster);
  await Promise.all(gens.map((g) => g.once('connected', 120_000)));
  const starts = gens.map((g) => g.once('window-start', warmupMs + 60_000));
  const ends = gens.map((g) => g.once('window-end', warmupMs + durationMs + 60_000));
  for (const g of gens) g.command('go');
  await Promise.race(starts);
  meter.start();
  await Promise.all(ends);
  const window = meter.stop();
  const results = await Promise.all(gens.map((g) => g.result));
  const generatorPercent = results.reduce((sum, r) => sum + r.generatorCpuPercent, 0);
  const cpu = lessGenerators(window, generatorPercent);
  const after = await attestationRows(cluster.databaseUrl);
  const latency = new Reservoir(1_000_000);
  const answers: AnswerCounts = { sent: 0, results: 0, errors: 0, unsolicited: 0 };
  const refused: Record<string, number> = {};
  const closedByServer: Record<string, number> = {};
  let accepted = 0;
  for (const r of results) {
    accepted += r.accepted;
    for (const v of r.latencySamples) latency.add(v);
    for (const key of Object.keys(answers) as Array<keyof AnswerCounts>) answers[key] += r.answers[key];
    for (const [k, v] of Object.entries(r.refused)) refused[k] = (refused[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.closedByServer)) closedByServer[k] = (closedByServer[k] ?? 0) + v;
    if (r.failureSamples.length) ctx.log(`ingest generator failures: ${r.failureSamples.join(' | ')}`);
  }
  const windowSeconds = Math.max(...results.map((r) => r.windowSeconds));
  const connections = results.reduce((sum, r) => sum + r.connections, 0);
  return {
    connections,
    offeredPerSecond: (connections * 1000) / spacingMs,
    perSecond: accepted / windowSeconds,
    latencyMs: { ...summarize(latency.samples()), count: accepted },
    cpu,
    generatorPercent,
    refused,
    closedByServer,
    connectFailures: results.reduce((sum, r) => sum + r.connectFailures, 0),
    answers,
    stored: { rows: after.rows - before.rows, duplicates: after.duplicates },
  };
}

/**
 * Every token presented once to every replica, straight to it: a gateway's requests reach every
 * replica in the end, so in steady state each has imported every device key and verified every
 * token once (its caches, docs/scale-out.md). The window then measures that, not the warm-up.
 */
async function warmForwardAuth(ctx: RunContext, cluster: Cluster, tokens: Array<[number, string]>): Promise<void> {
  const { connections } = ctx.sizes.authz;
  const runs = await Promise.all(
    cluster.servers.map((server, i) => {
      // The worker asks about every token once before its load (answers not counted), then the
      // load presents every token again (its answers checked below); it keeps 4 proofs a
      // connection in reserve, so the pool covers both passes and those.
      const params: AuthzLoadParams = { target: `${server.url}/v1/authz`, tokens, proofs: 2 * tokens.length + 4 * connections, unique: true, connections, warmupS: 0, durationS: 600 };
      return startWorker<AuthzLoadResult>(`authz warm-up ${i + 1}`, 'authz', params).result;
    }),
  );
  const refused = runs.flatMap((r) => Object.entries(r.statuses).filter(([status]) => status !== '200' && status !== '403'));
  if (refused.length > 0) throw new Error(`replicas ${cluster.n}: forward-auth warm-up answered ${JSON.stringify(refused)}: a replica refused tokens another issued`);
}

interface AuthzPoint {
  perSecond: number;
  requests: number;
  latencyMs: LatencySummary;
  statuses: Record<string, number>;
  errors: number;
  cpu: CpuFigures;
  generatorPercent: number;
}

/** Forward-auth through nginx, saturated, a new DPoP proof per request (made before the window). */
async function measureAuthz(ctx: RunContext, cluster: Cluster, tokens: Array<[number, string]>): Promise<AuthzPoint> {
  const { connections, warmupS, durationS } = ctx.sizes.authz;
  // Enough unique proofs for the window at what this many replicas might answer, with margin; at most 60k (signing them takes seconds).
  const proofs = Math.min(60_000, Math.ceil(4000 * cluster.n * (warmupS + durationS) * 1.5) + 1000) + tokens.length; // plus the pass over every token before the load
  const params: AuthzLoadParams = { target: `${cluster.nginx.url}/v1/authz`, tokens, proofs, unique: true, connections, warmupS, durationS };
  const gen = startWorker<AuthzLoadResult>('authz', 'authz', params);
  const meter = cpuMeter(cluster);
  await gen.once('window-start', 180_000);
  meter.start();
  await gen.once('window-end', (durationS + 60) * 1000);
  const window = meter.stop();
  const r = await gen.result;
  const cpu = lessGenerators(window, r.generatorCpuPercent);
  return { perSecond: r.perSecond, requests: r.requests, latencyMs: r.latency, statuses: r.statuses, errors: r.errors, cpu, generatorPercent: r.generatorCpuPercent };
}

interface ReplayCheck {
  attempts: number;
  /** First presentations, straight to one replica, answered 200 or 403. */
  spent: number;
  /** The same proof again through nginx, refused as already used. */
  refusedThroughNginx: number;
  /** The same proof again straight to the next replica, refused as already used. */
  refusedByAnotherReplica: number;
  unexpected: string[];
}

/**
 * A proof is spent on replica k (straight to it, naming nginx's URL as a trusted proxy would),
 * then presented through nginx and straight to replica k+1: both must answer 401, already used.
 */
async function replayAcrossReplicas(cluster: Cluster, tokens: Array<[number, string]>): Promise<ReplayCheck> {
  const check: ReplayCheck = { attempts: 0, spent: 0, refusedThroughNginx: 0, refusedByAnotherReplica: 0, unexpected: [] };
  const url = `${cluster.nginx.url}/v1/authz`;
  const forwarded = { 'x-forwarded-host': new URL(url).host, 'x-forwarded-proto': 'http' };
  const refusedAsReplay = (r: Response) => r.status === 401 && /already used/.test(r.headers.get('www-authenticate') ?? '');
  const note = (what: string, r: Response) => {
    if (check.unexpected.length < 5) check.unexpected.push(`${what}: ${r.status} ${r.headers.get('www-authenticate') ?? ''}`);
  };
  for (let k = 0; k < Math.min(REPLAYS, tokens.length); k++) {
    const [index, token] = tokens[k] as [number, string];
    const proof = await createDpopProof({ key: deviceKey(deriveDevice(index)), method: 'GET', url, accessToken: token });
    const headers = { authorization: `DPoP ${token}`, dpop: proof };
    const first = cluster.servers[k % cluster.n] as BenchServer;
    const other = cluster.servers[(k + 1) % cluster.n] as BenchServer;
    check.attempts++;
    const spend = await fetch(`${first.url}/v1/authz`, { headers: { ...headers, ...forwarded } });
    await spend.arrayBuffer();
    if (spend.status !== 200 && spend.status !== 403) {
      note('first presentation', spend);
      continue;
    }
    check.spent++;
    const viaNginx = await fetch(url, { headers });
    await viaNginx.arrayBuffer();
    if (refusedAsReplay(viaNginx)) check.refusedThroughNginx++;
    else note('replay through nginx', viaNginx);
    const direct = await fetch(`${other.url}/v1/authz`, { headers: { ...headers, ...forwarded } });
    await direct.arrayBuffer();
    if (refusedAsReplay(direct)) check.refusedByAnotherReplica++;
    else note('replay at another replica', direct);
  }
  return check;
}

/** What nginx logged: answers by status, and how requests and streams spread over the replicas. */
interface Balance {
  requests: number;
  serverErrors: number;
  /** Requests nginx had to try on a second replica. */
  retried: number;
  /** Per replica (in the order started): agent streams and forward-auth requests it served. */
  streams: number[];
  authz: number[];
}

function balanceOf(entries: AccessLogEntry[], cluster: Cluster): Balance {
  const hosts = cluster.servers.map((s) => new URL(s.url).host);
  const balance: Balance = { requests: entries.length, serverErrors: 0, retried: 0, streams: hosts.map(() => 0), authz: hosts.map(() => 0) };
  for (const e of entries) {
    if (e.status >= 500) balance.serverErrors++;
    if (e.upstreams.length > 1) balance.retried++;
    const replica = hosts.indexOf(e.upstreams[e.upstreams.length - 1] ?? '');
    if (replica < 0) continue;
    if (e.path.startsWith('/v1/agent') && e.status === 101) (balance.streams[replica] as number)++;
    if (e.path === '/v1/authz') (balance.authz[replica] as number)++;
  }
  return balance;
}

interface ReplicasPoint {
  n: number;
  fleet: number;
  idle: CpuFigures;
  ingest: IngestPoint;
  authz: AuthzPoint;
  replay: ReplayCheck;
  balance: Balance;
  /** The correctness checks that failed, in words; empty when all held. */
  failures: string[];
}

function failuresOf(p: Omit<ReplicasPoint, 'failures'>): string[] {
  const { answers, stored } = p.ingest;
  const failures: string[] = [];
  if (answers.sent !== answers.results + answers.errors) {
    const closed = Object.entries(p.ingest.closedByServer).map(([code, count]) => `${fmt(count)} closed with ${code}`);
    failures.push(`${fmt(answers.sent)} attestations sent, ${fmt(answers.results + answers.errors)} answered${closed.length ? ` (streams: ${closed.join(', ')})` : ''}`);
  }
  if (answers.unsolicited > 0) failures.push(`${fmt(answers.unsolicited)} answers came when none was awaited`);
  if (stored.rows !== answers.results) failures.push(`${fmt(stored.rows)} reports stored for ${fmt(answers.results)} results`);
  if (stored.duplicates > 0) failures.push(`${fmt(stored.duplicates)} reports stored twice`);
  if (p.balance.serverErrors > 0) failures.push(`${fmt(p.balance.serverErrors)} 5xx answers at nginx`);
  const refusedTokens = p.authz.statuses['401'] ?? 0;
  if (refusedTokens > 0) failures.push(`${fmt(refusedTokens)} forward-auth requests refused with 401 (a token or proof one replica did not accept)`);
  if (p.replay.spent < p.replay.attempts || p.replay.refusedThroughNginx < p.replay.spent || p.replay.refusedByAnotherReplica < p.replay.spent) {
    failures.push(`replay: ${p.replay.spent}/${p.replay.attempts} spent, ${p.replay.refusedThroughNginx} refused through nginx, ${p.replay.refusedByAnotherReplica} by another replica (${p.replay.unexpected.join('; ')})`);
  }
  return failures;
}

async function measureReplicas(ctx: RunContext, n: number): Promise<ReplicasPoint> {
  // Every streaming device has reported before, as a fleet's would; a fleet no smaller than the streams.
  const connections = ctx.sizes.ingest.connections.postgresql;
  const fleet = Math.max(ctx.sizes.fleet, connections);
  const cluster = await startCluster(ctx, n, fleet);
  try {
    const all = spread(fleet, fleet);
    const tokens = await reportOnceEach(ctx, cluster, all);
    const idle = await measureIdle(cluster, ctx.options.quick ? 3 : 5);
    const ingest = await measureIngest(ctx, cluster, spread(fleet, connections));
    ctx.log(
      `replicas ${n} ingest: ${fmt(ingest.perSecond)}/s of ${fmt(ingest.offeredPerSecond)}/s offered, servers ${fmt(ingest.cpu.servers, 1)} CPU-s (${ingest.cpu.replicas.map((s) => fmt(s, 1)).join(' + ')}), db ${fmt(ingest.cpu.database, 1)}, nginx ${fmt(ingest.cpu.nginx, 1)} over ${fmt(ingest.cpu.wallSeconds, 1)} s`,
    );
    const authzTokens = spread(tokens.length, Math.min(tokens.length, ctx.sizes.authz.tokens)).map((i) => tokens[i] as [number, string]);
    await warmForwardAuth(ctx, cluster, authzTokens);
    const authz = await measureAuthz(ctx, cluster, authzTokens);
    ctx.log(`replicas ${n} forward-auth: ${fmt(authz.perSecond)} req/s, statuses ${JSON.stringify(authz.statuses)}, servers ${fmt(authz.cpu.servers, 1)} CPU-s (${authz.cpu.replicas.map((s) => fmt(s, 1)).join(' + ')})`);
    const replay = await replayAcrossReplicas(cluster, authzTokens);
    await cluster.nginx.stop();
    const balance = balanceOf(cluster.nginx.accessLog(), cluster);
    const point = { n, fleet, idle, ingest, authz, replay, balance };
    const failures = failuresOf(point);
    ctx.log(`replicas ${n}: ${failures.length ? `correctness FAILED: ${failures.join('; ')}` : 'every correctness check held'}`);
    return { ...point, failures };
  } finally {
    await cluster.stop();
  }
}

const perCpuSecond = (perSecond: number, cpu: CpuFigures) => (cpu.servers > 0 ? (perSecond * cpu.wallSeconds) / cpu.servers : NaN);
/** The same, charging only the server CPU above what the replicas spend idle: the cost of the work itself. */
const perCpuSecondAboveIdle = (perSecond: number, cpu: CpuFigures, idle: CpuFigures) => {
  const busy = cpu.servers - (idle.servers / idle.wallSeconds) * cpu.wallSeconds;
  return busy > 0 ? (perSecond * cpu.wallSeconds) / busy : NaN;
};
const cores = (seconds: number, cpu: CpuFigures) => pct((100 * seconds) / cpu.wallSeconds);
const spreadText = (counts: number[]) => counts.map((c) => fmt(c)).join(' / ');

export async function replicasScenario(ctx: RunContext): Promise<ScenarioReport> {
  const counts = parseReplicaCounts(process.env[REPLICAS_ENV]);
  const points: ReplicasPoint[] = [];
  for (const n of counts) points.push(await measureReplicas(ctx, n));
  const base = points[0] as ReplicasPoint;
  const ratio = (value: number, of: number) => (Number.isFinite(value) && of > 0 ? `${(value / of).toFixed(2)}×` : '–');
  const throughputRows = (pick: (p: ReplicasPoint) => { perSecond: number; cpu: CpuFigures; latencyMs: LatencySummary; generatorPercent: number }) =>
    points.map((p) => {
      const f = pick(p);
      const efficiency = perCpuSecond(f.perSecond, f.cpu);
      return [
        String(p.n),
        fmt(f.perSecond),
        `${cores(f.cpu.servers, f.cpu)} (${f.cpu.replicas.map((s) => cores(s, f.cpu)).join(' + ')})`,
        cores(p.idle.servers, p.idle),
        cores(f.cpu.database, f.cpu),
        cores(f.cpu.nginx, f.cpu),
        pct(f.generatorPercent),
        pct(f.cpu.otherPercent),
        fmt(efficiency),
        ratio(efficiency, perCpuSecond(pick(base).perSecond, pick(base).cpu)),
        fmt(perCpuSecondAboveIdle(f.perSecond, f.cpu, p.idle)),
        fmt((f.perSecond * f.cpu.wallSeconds) / (f.cpu.servers + f.cpu.database + f.cpu.nginx)),
        ms(f.latencyMs.p50),
        ms(f.latencyMs.p99),
      ];
    });
  const header = (what: string) => ['replicas', `${what}/s`, 'server CPU (per replica)', 'server CPU idle', 'database CPU', 'nginx CPU', 'generator CPU', 'other CPU', `${what} per server CPU-s`, `vs ${base.n} replica${base.n > 1 ? 's' : ''}`, `${what} per server CPU-s above idle`, `${what} per CPU-s of server + db + nginx`, 'p50', 'p99'];
  const correctness = points.map((p) => [
    String(p.n),
    `${fmt(p.ingest.answers.sent)} / ${fmt(p.ingest.answers.results)} + ${fmt(p.ingest.answers.errors)} / ${fmt(p.ingest.answers.unsolicited)}`,
    `${fmt(p.ingest.stored.rows)} (${fmt(p.ingest.stored.duplicates)} twice)`,
    `${fmt(p.balance.serverErrors)} of ${fmt(p.balance.requests)}${p.balance.retried ? `, ${fmt(p.balance.retried)} retried` : ''}`,
    Object.entries(p.authz.statuses).map(([k, v]) => `${k}: ${fmt(v)}`).join(', ') + (p.authz.errors ? `, errors: ${fmt(p.authz.errors)}` : ''),
    `${p.replay.spent}/${p.replay.attempts}; ${p.replay.refusedThroughNginx} / ${p.replay.refusedByAnotherReplica}`,
    `${spreadText(p.balance.streams)}; ${spreadText(p.balance.authz)}`,
    p.failures.length ? `no: ${p.failures.join('; ')}` : 'yes',
  ]);
  const last = points[points.length - 1] as ReplicasPoint;
  const effRatio = (pick: (p: ReplicasPoint) => { perSecond: number; cpu: CpuFigures }) => ratio(perCpuSecond(pick(last).perSecond, pick(last).cpu), perCpuSecond(pick(base).perSecond, pick(base).cpu));
  return {
    tables: [
      { title: `Ingest through nginx (${fmt(base.ingest.connections)} agent streams, each reporting again ${ctx.sizes.ingest.spacingMs / 1000} s after its last report or when answered; ${fmt(base.fleet)} devices)`, header: header('attestations'), rows: throughputRows((p) => p.ingest) },
      { title: `Forward-auth through nginx (${ctx.sizes.authz.connections} keep-alive connections, a new DPoP proof per request, saturated)`, header: header('requests'), rows: throughputRows((p) => p.authz) },
      {
        title: 'Correctness across replicas',
        header: ['replicas', 'attestations sent / results + errors / unsolicited', 'reports stored', 'nginx 5xx', 'forward-auth answers', `replays: spent; refused via nginx / at another replica`, 'streams; forward-auth per replica', 'all held?'],
        rows: correctness,
      },
    ],
    notes: [
      ...(last.n > base.n ? [`Efficiency of ${last.n} replicas against ${base.n}: ingest ${effRatio((p) => p.ingest)}, forward-auth ${effRatio((p) => p.authz)} per server CPU-second (1.00× would be no cost for splitting the work).`] : []),
      ...contentionNote(points.flatMap((p) => [{ label: `${p.n} ingest`, otherPercent: p.ingest.cpu.otherPercent }, { label: `${p.n} forward-auth`, otherPercent: p.authz.cpu.otherPercent }])),
      `CPU is a share of one core; the machine has ${ctx.machine.cpus}, shared by the replicas, PostgreSQL, nginx and the load generators. On a machine this small more replicas cannot add throughput: the figure to read is throughput per server CPU-second (docs/scale-out.md).`,
      '"Server CPU idle": the replicas with no load (their sweeps, event consumers and pools), measured just before the load; "above idle" charges only what the load added to it, the cost of the work itself.',
      'Server CPU sums the replica processes; "per CPU-s of server + db + nginx" charges the deployment as a whole, the load balancer and the shared database included.',
      'Correctness: every device\'s first report got a result (checked before the load); during the ingest load every attestation sent got exactly one answer, and PostgreSQL stored one report per result; nginx answered no 5xx over the whole run; a 401 from forward-auth would be a token or proof that one replica did not accept from another; each replay check spends a proof on one replica, then presents it again through nginx and straight to the next replica.',
      `More replicas: \`pnpm bench replicas --replicas 1,2,4\` (or ${REPLICAS_ENV}=1,2,4).`,
    ],
    data: { counts, points },
  };
}

/**
 * Connections: idle agents held by one backend process. Every connection is a real
 * postern.v1 agent that authenticated with one valid attestation and then stays idle,
 * pinging every 60 s as the agent's transport does. Generators use source addresses
 * 127.0.0.2, 127.0.0.3, … so the ephemeral ports of one address are no limit. Measures the
 * count held, the server's resident memory per connection, and its CPU while idle; the same
 * clients against a bare `ws` server give the baseline. Goal: 50k connections at 20 KB or
 * less each.
 */
import { execFileSync } from 'node:child_process';
import type { RunContext } from '../context.js';
import { spread } from '../lib/fleet.js';
import { CpuWindow, memory } from '../lib/proc.js';
import { fmt } from '../lib/stats.js';
import { startWorker, type WorkerHandle } from '../lib/workers.js';
import type { HoldResult } from '../load/agents.js';
import { RAISE_FILE_LIMIT } from '../lib/server.js';
import { deploy } from './flows.js';
import { compare, COMPARISON_HEADER, mibText, pct, type ScenarioReport } from './report.js';

export const CONNECTIONS_GOAL = 50_000;
export const BYTES_PER_CONNECTION_GOAL = 20 * 1024;
/** File descriptors a server keeps for itself (listening socket, database pool, log, V8). */
const FD_RESERVE = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  url: string;
  pid: number;
  /** A full garbage collection in the target, before memory is read. */
  collectGarbage(): Promise<void>;
  heapUsedMiB(): Promise<number | null>;
  /** The server's own count of open agent connections, when it keeps one. */
  connectionCount?(): Promise<number>;
}

interface Step {
  held: number;
  rampSeconds: number;
  /** RSS before the forced GC: what the process held with the authentication reports' garbage. */
  rssBeforeGcMiB: number;
  rssMiB: number;
  heapUsedMiB: number | null;
}

interface Holding {
  idle: { rssMiB: number; heapUsedMiB: number | null };
  steps: Step[];
  idleCpu: { percent: number; wallSeconds: number };
  /** The server's count at the end of the idle window. */
  serverCount: number | null;
  failures: number;
  closedByServer: Record<string, number>;
  generators: Array<Omit<HoldResult, 'failureSamples'>>;
}

function gauge(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

/** Opens connections to `target` step by step, reading memory after each step, then idles. */
async function hold(ctx: RunContext, label: string, target: Target, steps: number[], indices: number[]): Promise<Holding> {
  const sizes = ctx.sizes.connections;
  const workers: Array<WorkerHandle<HoldResult>> = [];
  const memoryNow = async () => {
    const before = memory(target.pid).rss / 2 ** 20;
    await target.collectGarbage();
    return { rssBeforeGcMiB: before, rssMiB: memory(target.pid).rss / 2 ** 20, heapUsedMiB: await target.heapUsedMiB() };
  };
  try {
    await sleep(sizes.settleS * 1000);
    const { rssMiB, heapUsedMiB } = await memoryNow();
    const idle = { rssMiB, heapUsedMiB };
    const measured: Step[] = [];
    let opened = 0;
    let held = 0;
    for (const step of steps) {
      const started = performance.now();
      const ready: Array<Promise<unknown>> = [];
      while (opened < step) {
        const count = Math.min(sizes.perWorker, step - opened);
        const n = workers.length;
        // 127.0.0.2 … : each generator its own source address, hence its own ephemeral ports.
        const worker = startWorker<HoldResult>(`hold ${n}`, 'hold', { url: target.url, indices: indices.slice(opened, opened + count), localAddress: `127.0.0.${2 + n}`, connectConcurrency: 50, pingIntervalMs: sizes.pingIntervalMs });
        workers.push(worker);
        ready.push(worker.once('ready', 15 * 60_000));
        opened += count;
      }
      held += ((await Promise.all(ready)) as Array<{ connected: number }>).reduce((sum, r) => sum + r.connected, 0);
      const rampSeconds = (performance.now() - started) / 1000;
      await sleep(sizes.settleS * 1000);
      const reading = { held, rampSeconds, ...(await memoryNow()) };
      measured.push(reading);
      ctx.log(`${label}: ${fmt(held)} connections held (${rampSeconds.toFixed(0)} s to open and authenticate): ${reading.rssMiB.toFixed(0)} MiB RSS after GC${reading.heapUsedMiB === null ? '' : `, ${reading.heapUsedMiB.toFixed(0)} MiB heap`}`);
    }
    // Idle: nothing but the agents' pings (one per connection per interval).
    const cpu = new CpuWindow(() => [target.pid]);
    cpu.start();
    await sleep(sizes.idleS * 1000);
    const idleCpu = cpu.stop();
    const serverCount = target.connectionCount ? await target.connectionCount() : null;
    for (const w of workers) w.command('release');
    const results = await Promise.all(workers.map((w) => w.result));
    const closedByServer: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.closedByServer)) closedByServer[k] = (closedByServer[k] ?? 0) + v;
    const samples = results.flatMap((r) => r.failureSamples).slice(0, 5);
    if (samples.length) ctx.log(`${label}: connection failures: ${samples.join(' | ')}`);
    return {
      idle,
      steps: measured,
      idleCpu,
      serverCount,
      failures: results.reduce((n, r) => n + r.failures, 0),
      closedByServer,
      generators: results.map(({ failureSamples: _f, ...r }) => r),
    };
  } finally {
    for (const w of workers) w.command('release');
    await Promise.all(workers.map((w) => w.result.catch(() => undefined)));
  }
}

const perConnectionKiB = (h: Holding, s: Step) => ((s.rssMiB - h.idle.rssMiB) * 1024) / Math.max(1, s.held);
const heapPerConnectionKiB = (h: Holding, s: Step) => (s.heapUsedMiB === null || h.idle.heapUsedMiB === null ? NaN : ((s.heapUsedMiB - h.idle.heapUsedMiB) * 1024) / Math.max(1, s.held));

export async function connectionsScenario(ctx: RunContext): Promise<ScenarioReport> {
  const sizes = ctx.sizes.connections;
  const goal = Math.max(...sizes.steps);
  // What a server will be allowed to open, as its start-up shell sets it: seed no more devices than that.
  const achievable = Number(execFileSync('/bin/sh', ['-c', `${RAISE_FILE_LIMIT}; ulimit -n`], { encoding: 'utf8' }).trim()) || Infinity;
  const wanted = Math.min(goal, achievable - FD_RESERVE);
  if (wanted < goal) ctx.log(`a process here may open ${achievable} files (RLIMIT_NOFILE, this machine's hard limit): holding at most ${wanted} connections instead of ${goal}`);
  const steps = [...new Set(sizes.steps.map((s) => Math.min(s, wanted)))].sort((a, b) => a - b);
  const indices = spread(wanted, wanted);

  const dep = await deploy(ctx, 'postgresql', wanted, { label: 'connections', raiseFileLimit: true, inspect: true });
  let postern: Holding;
  let fdLimit: number;
  try {
    fdLimit = dep.server.openFileLimit();
    const metric = async (name: string) => gauge(await dep.server.metricsText(), name);
    postern = await hold(
      ctx,
      'postern',
      {
        url: dep.server.url,
        pid: dep.server.pid,
        collectGarbage: () => dep.server.collectGarbage(),
        heapUsedMiB: async () => (await metric('postern_nodejs_heap_size_used_bytes')) / 2 ** 20,
        connectionCount: () => metric('postern_agent_connections'),
      },
      steps,
      indices,
    );
  } finally {
    await dep.stop(120_000);
  }

  // Baseline: the same clients against a bare ws server (no verification, no database).
  const bare = startWorker<{ connections: number }>('bare-ws', 'ws-server', {}, { nodeArgs: ['--expose-gc'] });
  let baseline: Holding;
  try {
    const { url } = (await bare.once('listening', 30_000)) as { url: string };
    const gc = async () => {
      const done = bare.once('gc-done', 60_000);
      bare.command('gc');
      await done;
    };
    const heap = async () => null;
    baseline = await hold(ctx, 'bare ws', { url, pid: bare.pid, collectGarbage: gc, heapUsedMiB: heap }, [steps[steps.length - 1] as number], indices);
  } finally {
    bare.command('stop');
    await bare.result.catch(() => undefined);
  }

  const last = postern.steps[postern.steps.length - 1] as Step;
  const bareLast = baseline.steps[baseline.steps.length - 1] as Step;
  const perConnection = perConnectionKiB(postern, last);
  const rows = [
    compare('idle agent connections held', last.held, { baselineLabel: `limit: ${fmt(fdLimit)} open files`, goal: `≥ ${fmt(CONNECTIONS_GOAL)}`, met: last.held >= CONNECTIONS_GOAL }),
    compare('server memory per connection (RSS after GC)', perConnection, { unit: 'KiB', decimals: 1, baseline: perConnectionKiB(baseline, bareLast), baselineLabel: 'bare ws', goal: `≤ ${BYTES_PER_CONNECTION_GOAL / 1024} KiB`, met: perConnection <= BYTES_PER_CONNECTION_GOAL / 1024 }),
    compare('  of which JS heap', heapPerConnectionKiB(postern, last), { unit: 'KiB', decimals: 1 }),
    compare(`server CPU while idle (pings every ${sizes.pingIntervalMs / 1000} s)`, postern.idleCpu.percent, { unit: '%', decimals: 1, baseline: baseline.idleCpu.percent, baselineLabel: 'bare ws' }),
  ];
  const stepRow = (label: string, h: Holding, s: Step, i: number, list: Step[]) => {
    const prev = i === 0 ? { held: 0, rssMiB: h.idle.rssMiB } : (list[i - 1] as Step);
    const marginal = ((s.rssMiB - prev.rssMiB) * 1024) / Math.max(1, s.held - prev.held);
    return [label, fmt(s.held), `${fmt(s.rampSeconds, 0)} s`, mibText(s.rssBeforeGcMiB), mibText(s.rssMiB), s.heapUsedMiB === null ? '–' : `${fmt(s.heapUsedMiB, 0)} MiB`, `${fmt(perConnectionKiB(h, s), 1)} KiB`, `${fmt(marginal, 1)} KiB`];
  };
  const stepRows = [
    ['postern', '0', '–', '–', mibText(postern.idle.rssMiB), `${fmt(postern.idle.heapUsedMiB, 0)} MiB`, '–', '–'],
    ...postern.steps.map((s, i, list) => stepRow('postern', postern, s, i, list)),
    ['bare ws', '0', '–', '–', mibText(baseline.idle.rssMiB), '–', '–', '–'],
    ...baseline.steps.map((s, i, list) => stepRow('bare ws', baseline, s, i, list)),
  ];
  return {
    tables: [
      { title: 'Connections vs goal', header: COMPARISON_HEADER, rows },
      { title: 'Connections by step (memory after the agents authenticated, the server settled, and a full GC)', header: ['server', 'connections', 'ramp', 'RSS before GC', 'RSS after GC', 'JS heap used', 'RSS/connection', 'marginal RSS/connection'], rows: stepRows },
    ],
    notes: [
      ...(wanted < goal
        ? [`A process here may open at most ${fmt(fdLimit)} files (RLIMIT_NOFILE; raising the hard limit needs CAP_SYS_RESOURCE, which this machine does not give), so one process holds at most about ${fmt(wanted)} connections; installers/linux/postern-server.service sets LimitNOFILE=524288.`]
        : []),
      `Idle window ${sizes.idleS} s: ${pct(postern.idleCpu.percent)} of one core for ${fmt(postern.serverCount)} connections (the server's own count at its end); ${postern.failures} failed to connect or authenticate; closed by the server: ${JSON.stringify(postern.closedByServer)}.`,
      'Memory is read after a full garbage collection, requested through the inspector (postern-server runs with --inspect on a loopback port for this) or global.gc() (the bare ws server); kernel socket buffers are not in a process RSS.',
      'Baseline: the same simulated agents (same reports, pings, source addresses) against a bare `ws` server that sends a challenge and answers every frame without verifying or storing anything.',
    ],
    data: { fdLimit, wanted, postern, baseline },
  };
}

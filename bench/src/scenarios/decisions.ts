/**
 * Decisions: forward-auth (`GET /v1/authz`) requests per second and latency, every request
 * with its own valid DPoP proof, spread over 10k devices' EAR tokens, with each replay record:
 * in the replica's memory (`POSTERN_DPOP_NONCE=replica`: proofs bound to that replica's nonce)
 * and in the database every replica shares (nonces off, the default). Baseline: ES256
 * verifications per second on one core, in the same run (one proof verification per decision
 * is the floor); a bare Koa handler hammered the same way as a second column. Goals: at least
 * 0.6× the verify rate, p99 under 5 ms at half the saturated rate.
 */
import type { RunContext } from '../context.js';
import { spread } from '../lib/fleet.js';
import { describeBatchSizes } from '../lib/batch-metrics.js';
import { fmt } from '../lib/stats.js';
import { alternate, type Alternated } from '../lib/alternate.js';
import { deploy, koaBaselineOnce, measureAuthz, measureVerify, verifyBaselineOnce, warmUp, type AuthzFigures, type DbKind, type VerifyFigures } from './flows.js';
import type { WarmDeployment } from './ingest.js';
import { boundText, compare, COMPARISON_HEADER, contentionNote, LOAD_HEADER, loadCells, ms, pct, type ScenarioReport } from './report.js';

export const AUTHZ_GOAL_RATIO = 0.6;
export const AUTHZ_GOAL_P99_MS = 5;

/** Where forward-auth spends proof ids: this replica's memory (replica-bound nonces) or the shared database. */
export type ReplayRecord = 'replica' | 'database';
const RECORD_LABEL: Record<ReplayRecord, string> = { replica: 'replay record in memory (POSTERN_DPOP_NONCE=replica)', database: 'replay record in the database (nonces off, the default)' };

/**
 * Deploys a seeded fleet, has `tokens` devices report once, and measures forward-auth saturated
 * (and at half that rate). With `alternate`, the saturated windows alternate with windows of the
 * one-core verify baseline (lib/alternate.ts) and `saturated` is the one with the median ratio.
 */
export async function decisionsOn(
  ctx: RunContext,
  kind: DbKind,
  fleet: number,
  tokenCount: number,
  options: { halfLoad: boolean; record?: ReplayRecord; alternate?: boolean; threadPool?: number },
): Promise<{ record: ReplayRecord; threadPool: number | null; saturated: AuthzFigures; paired: Alternated<VerifyFigures, AuthzFigures> | null; half: AuthzFigures | null; koaHalf: AuthzFigures | null; koa: AuthzFigures }> {
  const record = options.record ?? 'database';
  // The ingest scenario of this run may have left its deployment warm (every device reported); it runs with the defaults.
  const key = `deployment:${kind}:${fleet}`;
  const threadPool = options.threadPool ?? null;
  const kept = record === 'database' && threadPool === null ? (ctx.shared.get(key) as WarmDeployment | undefined) : undefined;
  if (kept) ctx.shared.delete(key);
  const reused = kept && kept.dep.server.child.exitCode === null && kept.dep.server.child.signalCode === null ? kept : undefined;
  if (reused) ctx.log(`decisions: using the ingest scenario's ${kind} server (${fmt(reused.tokens.length)} devices with tokens)`);
  const env = { ...(record === 'replica' ? { POSTERN_DPOP_NONCE: 'replica' } : {}), ...(threadPool === null ? {} : { UV_THREADPOOL_SIZE: String(threadPool) }) };
  const name = threadPool === null ? record : `${record}-pool${threadPool}`;
  const dep = reused?.dep ?? (await deploy(ctx, kind, fleet, { label: `decisions-${name}-${kind}-${fleet}`, env }));
  try {
    const warm = reused ? { tokens: spread(reused.tokens.length, Math.min(tokenCount, reused.tokens.length)).map((i) => reused.tokens[i] as [number, string]) } : await warmUp(ctx, dep, spread(fleet, tokenCount));
    const koa = await koaBaselineOnce(ctx, warm.tokens);
    const target = { kind: 'postern' as const, url: dep.server.url, pid: dep.server.pid, dbPids: () => dep.dbPids() };
    const measureSaturated = async () => {
      const figures = await measureAuthz(ctx, target, warm.tokens, { expectedPerSecond: Math.min(koa.perSecond, 8000) });
      ctx.log(`authz ${name} ${kind} ${fleet}: ${figures.perSecond.toFixed(0)} req/s, p50 ${figures.latencyMs.p50.toFixed(2)} ms, p99 ${figures.latencyMs.p99.toFixed(2)} ms, statuses ${JSON.stringify(figures.statuses)}, server ${figures.server.cpuPercent.toFixed(0)} % (${usPerRequest(figures, 'server')} µs/request), db ${figures.database.cpuPercent.toFixed(0)} %`);
      return figures;
    };
    const paired = options.alternate
      ? await alternate(ctx.sizes.authz.pairs, { baseline: () => measureVerify(ctx), target: measureSaturated, warmUp: true }, { baseline: (v) => v.perSecond, target: (f) => f.perSecond })
      : null;
    if (paired) ctx.log(`authz ${name}: against the verify windows around each: ${paired.ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}`);
    const saturated = paired ? (paired.targets[paired.median] as AuthzFigures) : await measureSaturated();
    if (!options.halfLoad) return { record, threadPool, saturated, paired, half: null, koaHalf: null, koa };
    // Latency at half the saturated rate: the service time, not queueing.
    const rate = Math.max(10, Math.round(saturated.perSecond / 2));
    const half = await measureAuthz(ctx, target, warm.tokens, { overallRate: rate });
    ctx.log(`authz ${name} at ${rate}/s: p50 ${half.latencyMs.p50.toFixed(2)} ms, p99 ${half.latencyMs.p99.toFixed(2)} ms, server ${usPerRequest(half, 'server')} µs/request`);
    return { record, threadPool, saturated, paired, half, koaHalf: null, koa };
  } finally {
    await dep.stop();
  }
}

/** CPU-µs per answered request of the server (all its threads) or the database, from /proc over the window. */
export function usPerRequest(f: { requests: number; server: { cpuSeconds: number }; database: { cpuSeconds: number } }, of: 'server' | 'database'): string {
  return f.requests > 0 ? fmt((1e6 * f[of].cpuSeconds) / f.requests) : '–';
}

export function statusText(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(', ');
}

export async function decisionsScenario(ctx: RunContext): Promise<ScenarioReport> {
  const fleet = ctx.sizes.fleet;
  const tokens = Math.min(fleet, ctx.sizes.authz.tokens);
  const verify = await verifyBaselineOnce(ctx);
  const database = await decisionsOn(ctx, 'postgresql', fleet, tokens, { halfLoad: true, record: 'database', alternate: true });
  // The scale scenario compares the default configuration.
  ctx.shared.set(`decisions:postgresql:${fleet}`, database);
  const replica = await decisionsOn(ctx, 'postgresql', fleet, tokens, { halfLoad: true, record: 'replica', alternate: true });
  // The same with libuv's thread pool at one thread: the tuning docs/scale-out.md gives a machine of two cores.
  const onePool = await decisionsOn(ctx, 'postgresql', fleet, tokens, { halfLoad: false, record: 'replica', alternate: true, threadPool: 1 });
  const runs = [replica, onePool, database];
  const runLabel = (run: (typeof runs)[number]) => `${RECORD_LABEL[run.record]}${run.threadPool === null ? '' : `, UV_THREADPOOL_SIZE=${run.threadPool}`}`;
  const runName = (run: (typeof runs)[number]) => `${run.record} record${run.threadPool === null ? '' : `, ${run.threadPool} pool thread`}`;
  const koa = database.koa;
  const rows: string[][] = [];
  for (const run of runs) {
    const { saturated: s, half, paired } = run;
    // The verify windows around the median forward-auth window, or the run's one baseline.
    const baseline = paired?.medianBaseline ?? verify.perSecond;
    const goal = AUTHZ_GOAL_RATIO * baseline;
    rows.push(
      compare(`forward-auth requests/s, ${runLabel(run)}`, s.perSecond, { baseline, baselineLabel: 'ES256 verify/s (1 core)', goal: `≥ ${AUTHZ_GOAL_RATIO}× (${fmt(goal)}/s)`, met: s.perSecond >= goal }),
      ...(paired ? [[`  each window against the verify windows around it (median kept)`, paired.targets.map((t) => fmt(t.perSecond)).join(' / '), paired.baselines.map((b) => fmt(b.perSecond)).join(' / '), paired.ratios.map((r) => `${r.toFixed(2)}×`).join(' / '), '–', '–']] : []),
      compare('  the same against bare Koa', s.perSecond, { baseline: koa.perSecond, baselineLabel: 'bare Koa req/s' }),
      compare('  p99 latency (saturated)', s.latencyMs.p99, { unit: 'ms', decimals: 2, baseline: koa.latencyMs.p99 }),
    );
    if (half) {
      rows.push(
        compare(`  p50 latency at ${fmt(half.overallRate)} req/s (half load)`, half.latencyMs.p50, { unit: 'ms', decimals: 2 }),
        compare(`  p99 latency at ${fmt(half.overallRate)} req/s (half load)`, half.latencyMs.p99, { unit: 'ms', decimals: 2, goal: `< ${AUTHZ_GOAL_P99_MS} ms`, met: half.latencyMs.p99 < AUTHZ_GOAL_P99_MS }),
        ['  the same at the server, from its own histogram', boundText(half.serverP99BoundMs), '–', '–', `< ${AUTHZ_GOAL_P99_MS} ms`, half.serverP99BoundMs === null ? '–' : half.serverP99BoundMs <= AUTHZ_GOAL_P99_MS ? 'yes' : 'no'],
      );
    }
  }
  const detailRow = (label: string, f: AuthzFigures) => [
    label,
    fmt(f.perSecond),
    ...loadCells(f, f.target === 'postern' ? null : '–'),
    ms(f.latencyMs.max),
    usPerRequest(f, 'server'),
    f.target === 'postern' ? usPerRequest(f, 'database') : '–',
    pct(f.generatorCpuPercent),
    pct(f.machine.otherPercent),
    statusText(f.statuses) + (f.errors ? `, errors: ${f.errors}` : ''),
    describeBatchSizes(f.batchSizes),
  ];
  const detail = [detailRow('bare Koa, saturated', koa)];
  const windows: Array<{ label: string; otherPercent: number }> = [{ label: 'bare Koa', otherPercent: koa.machine.otherPercent }];
  for (const run of runs) {
    const saturatedWindows = run.paired?.targets ?? [run.saturated];
    saturatedWindows.forEach((f, i) => {
      const label = `${runName(run)}, saturated${saturatedWindows.length > 1 ? ` (${i + 1} of ${saturatedWindows.length})` : ''}`;
      detail.push(detailRow(label, f));
      windows.push({ label, otherPercent: f.machine.otherPercent });
    });
    if (run.half) {
      detail.push(detailRow(`${runName(run)}, ${fmt(run.half.overallRate)}/s`, run.half));
      windows.push({ label: `${runName(run)} at ${fmt(run.half.overallRate)}/s`, otherPercent: run.half.machine.otherPercent });
    }
  }
  const s = database.saturated;
  return {
    tables: [
      { title: 'Forward-auth vs baseline', header: COMPARISON_HEADER, rows },
      {
        title: `Forward-auth detail (${fmt(s.devices)} devices of ${fmt(fleet)} on PostgreSQL, ${s.connections} keep-alive connections, ${fmt(s.windowSeconds, 1)} s window, a new DPoP proof per request)`,
        header: ['run', 'req/s', ...LOAD_HEADER, 'max', 'server CPU-µs/request', 'database CPU-µs/request', 'generator CPU', 'other CPU', 'answers', 'requests per round trip'],
        rows: detail,
      },
    ],
    notes: [
      ...(verify.cpuPercent < 90 ? [`The ES256 baseline got only ${fmt(verify.cpuPercent)} % of its core: it is understated.`] : []),
      `Saturated forward-auth is measured in ${ctx.sizes.authz.pairs} windows per replay record, each between two windows of the one-core ES256 verify baseline (B T B T … B); each window's ratio divides it by the mean of the verify windows on either side, so the machine's drift over the minutes of the run moves both sides of it. The figure kept is the median ratio. One saturated window before them is not counted (the JIT's first optimisation of the route under full load).`,
      ...contentionNote(windows),
      '403 answers are decisions too: 20 % of the simulated fleet is noncompliant by design (Windows with the public firewall profile off, unencrypted Linux). A 401 would mean a proof or token was refused.',
      'Replay record in memory: the server runs with POSTERN_DPOP_NONCE=replica; the generator asks once for its nonce and signs it into every proof. In the database: nonces off, every proof id is spent in PostgreSQL (batched, commit with fsync).',
      "UV_THREADPOOL_SIZE=1: the same server with libuv's thread pool, where node:crypto verifies and signs, at one thread instead of Node's four: on two cores four pool threads take the core the main thread needs (docs/scale-out.md says when to set it, and what it costs).",
      '"server CPU-µs/request": CPU time of the server process (all threads, WebCrypto\'s pool included) over the window, per answered request, from /proc; it moves less with a contended machine than the rates do.',
      '"other CPU": everything else the machine ran during the window (other programs, kernel threads, the bench itself), from /proc/stat.',
      'Every run is measured by the same client in its own process, with the same headers and connections: saturated with autocannon (each connection sends its next request when answered), half load with a paced keep-alive client (one request every 1/rate s). Latency is client-side, per request, at full precision.',
      '"At the server": the bound of the bucket of `postern_http_request_duration_seconds` (1, 2.5, 5, 10 ms …) under which 99 % of the window\'s forward-auth requests were answered, from when the server began each request to when it had written the answer. What the client measures beyond it is waiting: in the client, in the kernel, for a core, and in the server\'s queue before it began the request.',
    ],
    data: { baseline: { verify, koa }, runs: { replica, onePool, database } },
  };
}

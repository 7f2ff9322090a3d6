/**
 * Decisions: forward-auth (`GET /v1/authz`) requests per second and latency, every request
 * with its own valid DPoP proof, spread over 10k devices' EAR tokens. Baseline: a bare Koa
 * handler answering 200, hammered the same way in the same run. Goals: at least 0.7× the
 * baseline's throughput, p99 under 2 ms.
 */
import type { RunContext } from '../context.js';
import { spread } from '../lib/fleet.js';
import { describeBatchSizes } from '../lib/batch-metrics.js';
import { fmt } from '../lib/stats.js';
import { deploy, koaBaselineOnce, measureAuthz, startKoa, warmUp, type AuthzFigures, type DbKind } from './flows.js';
import type { WarmDeployment } from './ingest.js';
import { compare, COMPARISON_HEADER, contentionNote, LOAD_HEADER, loadCells, ms, pct, type ScenarioReport } from './report.js';

export const AUTHZ_GOAL_RATIO = 0.7;
export const AUTHZ_GOAL_P99_MS = 2;

/** Deploys a seeded fleet, has `tokens` devices report once, and measures forward-auth saturated. */
export async function decisionsOn(
  ctx: RunContext,
  kind: DbKind,
  fleet: number,
  tokenCount: number,
  options: { halfLoad: boolean },
): Promise<{ saturated: AuthzFigures; half: AuthzFigures | null; koaHalf: AuthzFigures | null; koa: AuthzFigures }> {
  // The ingest scenario of this run may have left its deployment warm: every device reported.
  const key = `deployment:${kind}:${fleet}`;
  const kept = ctx.shared.get(key) as WarmDeployment | undefined;
  ctx.shared.delete(key);
  const reused = kept && kept.dep.server.child.exitCode === null && kept.dep.server.child.signalCode === null ? kept : undefined;
  if (reused) ctx.log(`decisions: using the ingest scenario's ${kind} server (${fmt(reused.tokens.length)} devices with tokens)`);
  const dep = reused?.dep ?? (await deploy(ctx, kind, fleet, { label: `decisions-${kind}-${fleet}` }));
  try {
    const warm = reused ? { tokens: spread(reused.tokens.length, Math.min(tokenCount, reused.tokens.length)).map((i) => reused.tokens[i] as [number, string]) } : await warmUp(ctx, dep, spread(fleet, tokenCount));
    const koa = await koaBaselineOnce(ctx, warm.tokens);
    const target = { kind: 'postern' as const, url: dep.server.url, pid: dep.server.pid, dbPids: () => dep.dbPids() };
    const saturated = await measureAuthz(ctx, target, warm.tokens, { expectedPerSecond: Math.min(koa.perSecond, 8000) });
    ctx.log(`authz ${kind} ${fleet}: ${saturated.perSecond.toFixed(0)} req/s, p50 ${saturated.latencyMs.p50.toFixed(2)} ms, p99 ${saturated.latencyMs.p99.toFixed(2)} ms, statuses ${JSON.stringify(saturated.statuses)}, server ${saturated.server.cpuPercent.toFixed(0)} %, db ${saturated.database.cpuPercent.toFixed(0)} %`);
    if (!options.halfLoad) return { saturated, half: null, koaHalf: null, koa };
    // Latency at half the saturated rate, for the server and for the baseline at the same rate.
    const rate = Math.max(10, Math.round(saturated.perSecond / 2));
    const half = await measureAuthz(ctx, target, warm.tokens, { overallRate: rate });
    const koaServer = await startKoa();
    let koaHalf: AuthzFigures;
    try {
      koaHalf = await measureAuthz(ctx, { kind: 'bare-koa', url: koaServer.url, pid: koaServer.pid, dbPids: () => [] }, warm.tokens, { overallRate: rate });
    } finally {
      await koaServer.stop();
    }
    ctx.log(`authz at ${rate}/s: p50 ${half.latencyMs.p50.toFixed(2)} ms, p99 ${half.latencyMs.p99.toFixed(2)} ms (bare Koa p99 ${koaHalf.latencyMs.p99.toFixed(2)} ms)`);
    return { saturated, half, koaHalf, koa };
  } finally {
    await dep.stop();
  }
}

export function statusText(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(', ');
}

export async function decisionsScenario(ctx: RunContext): Promise<ScenarioReport> {
  const fleet = ctx.sizes.fleet;
  const run = await decisionsOn(ctx, 'postgresql', fleet, Math.min(fleet, ctx.sizes.authz.tokens), { halfLoad: true });
  ctx.shared.set(`decisions:postgresql:${fleet}`, run);
  const { saturated: s, half, koaHalf, koa } = run;
  const rows = [
    compare('forward-auth requests/s (saturated)', s.perSecond, { baseline: koa.perSecond, baselineLabel: 'bare Koa req/s', goal: `≥ ${AUTHZ_GOAL_RATIO}×`, met: s.perSecond >= AUTHZ_GOAL_RATIO * koa.perSecond }),
    compare('p50 latency (saturated)', s.latencyMs.p50, { unit: 'ms', decimals: 2, baseline: koa.latencyMs.p50, goal: '–' }),
    compare('p99 latency (saturated)', s.latencyMs.p99, { unit: 'ms', decimals: 2, baseline: koa.latencyMs.p99, goal: `< ${AUTHZ_GOAL_P99_MS} ms`, met: s.latencyMs.p99 < AUTHZ_GOAL_P99_MS }),
  ];
  if (half && koaHalf) {
    rows.push(
      compare(`p50 latency at ${fmt(half.overallRate)} req/s (half load)`, half.latencyMs.p50, { unit: 'ms', decimals: 2, baseline: koaHalf.latencyMs.p50, goal: '–' }),
      compare(`p99 latency at ${fmt(half.overallRate)} req/s (half load)`, half.latencyMs.p99, { unit: 'ms', decimals: 2, baseline: koaHalf.latencyMs.p99, goal: `< ${AUTHZ_GOAL_P99_MS} ms`, met: half.latencyMs.p99 < AUTHZ_GOAL_P99_MS }),
    );
  }
  const detailRow = (label: string, f: AuthzFigures) => [
    label,
    fmt(f.perSecond),
    ...loadCells(f, f.target === 'postern' ? null : '–'),
    ms(f.latencyMs.max),
    pct(f.generatorCpuPercent),
    pct(f.machine.otherPercent),
    statusText(f.statuses) + (f.errors ? `, errors: ${f.errors}` : ''),
    describeBatchSizes(f.batchSizes),
  ];
  const detail = [detailRow('bare Koa, saturated', koa), detailRow('postern, saturated', s)];
  if (half && koaHalf) detail.push(detailRow(`postern, ${fmt(half.overallRate)}/s`, half), detailRow(`bare Koa, ${fmt(koaHalf.overallRate)}/s`, koaHalf));
  return {
    tables: [
      { title: 'Forward-auth vs baseline', header: COMPARISON_HEADER, rows },
      {
        title: `Forward-auth detail (${fmt(s.devices)} devices of ${fmt(fleet)} on PostgreSQL, ${s.connections} keep-alive connections, ${fmt(s.windowSeconds, 1)} s window, a new DPoP proof per request)`,
        header: ['run', 'req/s', ...LOAD_HEADER, 'max', 'generator CPU', 'other CPU', 'answers', 'requests per round trip'],
        rows: detail,
      },
    ],
    notes: [
      ...contentionNote([koa, s, ...(half ? [half] : []), ...(koaHalf ? [koaHalf] : [])].map((f) => ({ label: `${f.target}${f.overallRate ? ` at ${fmt(f.overallRate)}/s` : ', saturated'}`, otherPercent: f.machine.otherPercent }))),
      '403 answers are decisions too: 20 % of the simulated fleet is noncompliant by design (Windows with the public firewall profile off, unencrypted Linux). A 401 would mean a proof or token was refused.',
      '"other CPU": everything else the machine ran during the window (other programs, kernel threads, the bench itself), from /proc/stat.',
      'Both servers are measured by the same client in its own process, with the same headers and connections: saturated with autocannon (each connection sends its next request when answered), half load with a paced keep-alive client (one request every 1/rate s: autocannon sends a rate as a burst each second). Latency is client-side, per request, at full precision.',
    ],
    data: { run },
  };
}

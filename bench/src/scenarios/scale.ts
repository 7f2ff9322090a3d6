/**
 * Scale curve: ingest and forward-auth at 1k, 10k and 100k enrolled devices on PostgreSQL,
 * to show how cost grows with the fleet. Devices are seeded with SQL (distinct real keys);
 * up to 10k of them report once (stored posture, EAR tokens), the rest get a stored posture
 * copied from a device of their kind, so every device of the fleet has reported.
 */
import type { RunContext } from '../context.js';
import { spread } from '../lib/fleet.js';
import { fmt } from '../lib/stats.js';
import { deploy, fillFleet, koaBaselineOnce, measureAuthz, measureIngest, verifyBaselineOnce, warmUp, type AuthzFigures, type IngestFigures } from './flows.js';
import { contentionNote, loadCells, LOAD_HEADER, pct, type ScenarioReport } from './report.js';
import type { decisionsOn } from './decisions.js';
import type { IngestRun } from './ingest.js';

interface Point {
  fleet: number;
  seed: { keySeconds: number; insertSeconds: number };
  warmUpPerSecond: number;
  ingest: IngestFigures;
  authz: AuthzFigures;
  reused: boolean;
}

export async function scaleScenario(ctx: RunContext): Promise<ScenarioReport> {
  const verify = await verifyBaselineOnce(ctx);
  const points: Point[] = [];
  for (const fleet of ctx.sizes.scale.fleets) {
    // The same measurement at the same size may already have run in this invocation.
    const ingestRun = ctx.shared.get(`ingest:postgresql:${fleet}`) as IngestRun | undefined;
    const decisionRun = ctx.shared.get(`decisions:postgresql:${fleet}`) as Awaited<ReturnType<typeof decisionsOn>> | undefined;
    if (ingestRun && decisionRun) {
      ctx.log(`scale ${fleet}: reusing this run's ingest and decisions figures`);
      points.push({ fleet, seed: ingestRun.seed, warmUpPerSecond: ingestRun.warmUp.perSecond, ingest: ingestRun.saturated, authz: decisionRun.saturated, reused: true });
      continue;
    }
    const dep = await deploy(ctx, 'postgresql', fleet, { label: `scale-${fleet}` });
    try {
      const warm = await warmUp(ctx, dep, spread(fleet, Math.min(fleet, ctx.sizes.scale.tokens)));
      await fillFleet(ctx, dep);
      const koa = await koaBaselineOnce(ctx, warm.tokens);
      const { connections, spacingMs, warmupMs, durationMs } = ctx.sizes.ingest;
      const ingest = await measureIngest(ctx, dep, spread(fleet, fleet), { connections: connections.postgresql, spacingMs, warmupMs, durationMs });
      const authz = await measureAuthz(ctx, { kind: 'postern', url: dep.server.url, pid: dep.server.pid, dbPids: () => dep.dbPids() }, warm.tokens, { expectedPerSecond: Math.min(koa.perSecond, 8000) });
      ctx.log(`scale ${fleet}: ingest ${ingest.perSecond.toFixed(0)}/s (p99 ${ingest.latencyMs.p99.toFixed(1)} ms), authz ${authz.perSecond.toFixed(0)} req/s (p99 ${authz.latencyMs.p99.toFixed(2)} ms)`);
      points.push({ fleet, seed: dep.seed, warmUpPerSecond: warm.perSecond, ingest, authz, reused: false });
    } finally {
      await dep.stop();
    }
  }
  const koa = ctx.shared.get('baseline:koa') as AuthzFigures;
  const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`;
  const rows = points.map((p) => [
    fmt(p.fleet),
    fmt(p.ingest.perSecond),
    ratio(p.ingest.perSecond, verify.perSecond),
    ...loadCells(p.ingest),
    fmt(p.authz.perSecond),
    ratio(p.authz.perSecond, koa.perSecond),
    ...loadCells(p.authz),
    `${pct(p.ingest.machine.otherPercent)} / ${pct(p.authz.machine.otherPercent)}`,
    `${fmt(p.seed.keySeconds + p.seed.insertSeconds, 1)} s`,
  ]);
  return {
    tables: [
      {
        title: `Scale curve on PostgreSQL (baselines this run: ${fmt(verify.perSecond)} ES256 verify/s on one core; bare Koa ${fmt(koa.perSecond)} req/s)`,
        header: ['enrolled devices', 'ingest/s', 'vs verify', ...LOAD_HEADER.map((h) => `ingest ${h}`), 'authz req/s', 'vs Koa', ...LOAD_HEADER.map((h) => `authz ${h}`), 'other CPU (ingest / authz)', 'seed time'],
        rows,
      },
    ],
    notes: [
      ...contentionNote(points.flatMap((p) => [{ label: `${fmt(p.fleet)} ingest`, otherPercent: p.ingest.machine.otherPercent }, { label: `${fmt(p.fleet)} authz`, otherPercent: p.authz.machine.otherPercent }])),
      `Ingest: ${fmt(ctx.sizes.ingest.connections.postgresql)} agents spread over the fleet, each reporting again ${ctx.sizes.ingest.spacingMs / 1000} s after its last report or as soon as answered. Forward-auth: tokens of ${fmt(ctx.sizes.scale.tokens)} devices spread over the fleet (all of them below that), ${ctx.sizes.authz.connections} connections, saturated.`,
      'Seed time: deriving the distinct P-256 device keys plus inserting the device rows with SQL (enrolling them through the API would spend a verification and a transaction each).',
      ...(points.some((p) => p.reused) ? [`Fleets ${points.filter((p) => p.reused).map((p) => fmt(p.fleet)).join(', ')}: the figures of the ingest and decisions scenarios of this run (same sizes, same PostgreSQL).`] : []),
    ],
    data: { baseline: { verify, koa }, points },
  };
}

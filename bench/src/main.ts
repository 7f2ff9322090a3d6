/**
 * `pnpm bench [scenario …] [--quick]`: runs the benchmark scenarios against the real
 * postern-server process, prints a table per scenario and writes
 * bench/results/<scenario>-<timestamp>.json. See BENCHMARKS.md.
 */
import { RunContext } from './context.js';
import { killAll } from './lib/children.js';
import { markdownTable, table } from './lib/stats.js';
import { agentScenario } from './scenarios/agent.js';
import { complianceScenario } from './scenarios/compliance.js';
import { connectionsScenario } from './scenarios/connections.js';
import { dashboardScenario } from './scenarios/dashboard.js';
import { decisionsScenario } from './scenarios/decisions.js';
import { ingestScenario } from './scenarios/ingest.js';
import { memoryScenario } from './scenarios/memory.js';
import { profileScenario } from './scenarios/profile.js';
import { parseReplicaCounts, REPLICAS_ENV, replicasScenario } from './scenarios/replicas.js';
import type { ScenarioReport } from './scenarios/report.js';
import { scaleScenario } from './scenarios/scale.js';

const SCENARIOS: Record<string, { run(ctx: RunContext): Promise<ScenarioReport>; byDefault: boolean; about: string }> = {
  ingest: { run: ingestScenario, byDefault: true, about: 'attestations/s over WebSocket on PostgreSQL and PGlite vs ES256 verifications/s on one core' },
  decisions: { run: decisionsScenario, byDefault: true, about: 'forward-auth requests/s and latency with DPoP, replay record in memory and in the database, vs ES256 verifications/s on one core' },
  compliance: { run: complianceScenario, byDefault: true, about: 'compliance API requests/s and latency with a gateway key vs a bare Koa handler' },
  connections: { run: connectionsScenario, byDefault: true, about: 'idle authenticated agent connections held, memory per connection, heartbeat CPU' },
  agent: { run: agentScenario, byDefault: true, about: 'the real agent: collection wall time, resident memory, CPU over a reporting interval' },
  scale: { run: scaleScenario, byDefault: true, about: 'ingest, forward-auth, the compliance API and the dashboard search at 1k to 1M enrolled devices, plotted' },
  dashboard: { run: dashboardScenario, byDefault: true, about: 'device search and overview over 100k seeded devices, through the HTTP API' },
  replicas: { run: replicasScenario, byDefault: true, about: '1 and 2 servers on one PostgreSQL behind nginx: ingest and forward-auth per server CPU-second' },
  memory: { run: memoryScenario, byDefault: true, about: 'resident memory of the embedded (PGlite) server with 1,000 devices, idle and under ingest, vs node + PGlite defaults' },
  profile: { run: profileScenario, byDefault: false, about: 'CPU profile (--cpu-prof) of the server during ingest and forward-auth: where the time goes' },
};

const USAGE = `usage: pnpm bench [scenario …] [--quick] [--no-durable] [--keep-temp] [--replicas 1,2,4]

Scenarios (default: all but profile):
${Object.entries(SCENARIOS)
  .map(([name, s]) => `  ${name.padEnd(12)} ${s.about}${s.byDefault ? '' : ' (only when named)'}`)
  .join('\n')}

  --quick       small sizes and short windows: a smoke run of about three minutes
  --no-durable  PostgreSQL with fsync and synchronous_commit off (default: on, as deployed)
  --keep-temp   keep the scratch directory (server logs, profiles)
  --replicas    replica counts of the replicas scenario (default 1,2; or ${REPLICAS_ENV})`;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // `--replicas 1,2,4` (or `--replicas=1,2,4`) is handed to the replicas scenario as its environment setting.
  const replicasAt = args.findIndex((a) => a === '--replicas' || a.startsWith('--replicas='));
  if (replicasAt >= 0) {
    const [flag = ''] = args.splice(replicasAt, 1);
    process.env[REPLICAS_ENV] = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : (args.splice(replicasAt, 1)[0] ?? '');
  }
  try {
    parseReplicaCounts(process.env[REPLICAS_ENV]);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = args.filter((a) => (a.startsWith('-') ? !['--quick', '--no-durable', '--keep-temp'].includes(a) : !(a in SCENARIOS)));
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(' ')}\n${USAGE}\n`);
    return 2;
  }
  const named = args.filter((a) => !a.startsWith('-'));
  const selected = Object.keys(SCENARIOS).filter((name) => (named.length ? named.includes(name) : SCENARIOS[name]?.byDefault));
  const ctx = new RunContext({ quick: args.includes('--quick'), durable: !args.includes('--no-durable'), keepTemp: args.includes('--keep-temp') });
  ctx.selected = selected;

  const stopAll = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the bench's processes\n`);
    killAll();
    void ctx.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopAll).once('SIGTERM', stopAll);

  const m = ctx.machine;
  ctx.log(`machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux ${m.kernel}, load ${m.loadAverageAtStart.join(' ')}, open files ${m.openFileLimit}`);
  ctx.log(`scenarios: ${selected.join(', ')}${ctx.options.quick ? ' (quick)' : ''}; scratch ${ctx.tmp}`);
  const markdown: string[] = [];
  const failed: string[] = [];
  const timings: Record<string, number> = {};
  try {
    for (const name of selected) {
      const scenario = SCENARIOS[name] as (typeof SCENARIOS)[string];
      const started = performance.now();
      ctx.log(`── ${name} ──`);
      try {
        const report = await scenario.run(ctx);
        timings[name] = (performance.now() - started) / 1000;
        for (const t of report.tables) process.stdout.write(`${table(`${name}: ${t.title}`, t.header, t.rows)}\n`);
        for (const note of report.notes) process.stdout.write(`  · ${note}\n`);
        const file = ctx.writeResult(name, { seconds: timings[name], tables: report.tables, notes: report.notes, ...report.data });
        ctx.log(`${name} done in ${timings[name]?.toFixed(0)} s → ${file}`);
        markdown.push(`### ${name}\n`, ...report.tables.map((t) => `${t.title}\n\n${markdownTable(t.header, t.rows)}\n`), ...report.notes.map((n) => `- ${n}`), '');
      } catch (error) {
        timings[name] = (performance.now() - started) / 1000;
        failed.push(name);
        ctx.log(`${name} FAILED: ${(error as Error).stack ?? String(error)}`);
        // Whatever it left running goes, including a deployment it meant to hand on.
        killAll();
        for (const key of [...ctx.shared.keys()]) if (key.startsWith('deployment:')) ctx.shared.delete(key);
      }
    }
  } finally {
    killAll();
    await ctx.close();
  }
  const total = process.uptime();
  process.stdout.write(`\n── Markdown (for BENCHMARKS.md) ──\n\n${markdown.join('\n')}\n`);
  process.stdout.write(`Scenario times: ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}; total ${total.toFixed(0)} s\n`);
  if (failed.length) process.stderr.write(`failed: ${failed.join(', ')}\n`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    killAll();
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

/**
 * Profile: the server under `node --cpu-prof` during a steady ingest window and a saturated
 * forward-auth window (PostgreSQL, the default fleet), each window cut out of the one profile
 * by its monotonic timestamps, summarised by self time per function and per package and by
 * the inclusive time of the steps of each path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { describeBatchSizes } from '../lib/batch-metrics.js';
import { run } from '../lib/children.js';
import { spread } from '../lib/fleet.js';
import { agentBin } from '@postern/testkit/paths';
import { fmt } from '../lib/stats.js';
import { analyzeProfile, type CpuProfile, type ProfileSummary } from '../profile/analyze.js';
import { deploy, measureAuthz, measureIngest, warmUp } from './flows.js';
import type { ReportTable, ScenarioReport } from './report.js';

const INGEST_STEPS = ['exchangeAttestation', 'verifyEvidence', 'verifyCompactJws', 'ingestBatch', 'storeBatch', 'evaluatePosture', 'recordStandings', 'jsonRecordset', 'appendAudits', 'issueResult', 'signCompactJws', 'safeParse', 'executeQuery', 'compileQuery'];
const AUTHZ_STEPS = ['verifyEar', 'jwtVerify', 'checkDpopProof', 'compactVerify', 'spendJtis', 'decideMany', 'checksOf', 'safeParse', 'parse', 'executeQuery', 'hashSecret'];

function tables(label: string, s: ProfileSummary, cpuSeconds: number, windowSeconds: number): ReportTable[] {
  const ms = (v: number) => `${fmt(v, 0)} ms`;
  const share = (v: number) => `${fmt(100 * v, 1)} %`;
  return [
    {
      title: `${label}: main thread not idle ${fmt(s.busyMs / 1000, 1)} s of ${fmt(windowSeconds, 1)} s (wall clock: time it waited for a core counts where it waited); the process used ${fmt(cpuSeconds, 1)} CPU s on all its threads`,
      header: ['package', 'self', 'share of busy'],
      rows: s.byPackage.slice(0, 12).map((p) => [p.name, ms(p.selfMs), share(p.share)]),
    },
    { title: `${label}: top functions by self time`, header: ['function', 'where', 'self', 'share'], rows: s.byFunction.slice(0, 15).map((f) => [f.name, f.where, ms(f.selfMs), share(f.share)]) },
    { title: `${label}: inclusive time of the steps (main thread)`, header: ['function', 'total', 'share'], rows: s.inclusive.map((f) => [f.name, ms(f.totalMs), share(f.share)]) },
  ];
}

/** The agent's one-shot collection under --cpu-prof: start-up and module loading against waiting on commands. */
async function profileCollection(ctx: RunContext): Promise<{ wallMs: number; summary: ProfileSummary }> {
  const dir = ctx.dir('agent-profile');
  const started = performance.now();
  const r = await run(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, agentBin, 'collect', '--json'], { timeoutMs: 60_000 });
  const wallMs = performance.now() - started;
  if (r.code !== 0) throw new Error(`postern-agent collect exited ${r.code}: ${r.stderr}`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return { wallMs, summary: analyzeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile) };
}

export async function profileScenario(ctx: RunContext): Promise<ScenarioReport> {
  const fleet = ctx.sizes.fleet;
  const profDir = ctx.dir('cpu-profile');
  const dep = await deploy(ctx, 'postgresql', fleet, { label: 'profile', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] });
  let ingest;
  let authz;
  try {
    const warm = await warmUp(ctx, dep, spread(fleet, fleet));
    const { connections, spacingMs, warmupMs, durationMs } = ctx.sizes.ingest;
    ingest = await measureIngest(ctx, dep, spread(fleet, fleet), { connections: connections.postgresql, spacingMs, warmupMs, durationMs });
    authz = await measureAuthz(ctx, { kind: 'postern', url: dep.server.url, pid: dep.server.pid, dbPids: () => dep.dbPids() }, warm.tokens.slice(0, ctx.sizes.authz.tokens), { expectedPerSecond: 2000 });
  } finally {
    await dep.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${profDir}: the server did not exit cleanly`);
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
  if (profile.startTime > ingest.windowUs[0] || profile.endTime < authz.windowUs[1]) {
    throw new Error(`the profile (${profile.startTime}–${profile.endTime} µs) does not cover the windows: the clocks differ`);
  }
  const ingestProfile = analyzeProfile(profile, { windowUs: ingest.windowUs, inclusiveOf: INGEST_STEPS });
  const authzProfile = analyzeProfile(profile, { windowUs: authz.windowUs, inclusiveOf: AUTHZ_STEPS });
  const agent = await profileCollection(ctx);
  const ingestPer = (ingestProfile.busyMs / Math.max(1, ingest.accepted)).toFixed(2);
  const authzPer = (authzProfile.busyMs / Math.max(1, authz.requests)).toFixed(2);
  ctx.log(`profile: ingest ${ingestPer} ms main-thread per attestation (round trips: ${describeBatchSizes(ingest.batchSizes)}), authz ${authzPer} ms per request (${describeBatchSizes(authz.batchSizes)})`);
  return {
    tables: [
      ...tables(`Ingest (${fmt(ingest.perSecond)}/s, ${ingestPer} ms main thread per attestation)`, ingestProfile, ingest.server.cpuSeconds, ingest.windowSeconds),
      ...tables(`Forward-auth (${fmt(authz.perSecond)} req/s, ${authzPer} ms main thread per request)`, authzProfile, authz.server.cpuSeconds, authz.windowSeconds),
      {
        title: `Agent: one \`postern-agent collect --json\`, ${fmt(agent.wallMs, 0)} ms wall; main thread busy ${fmt(agent.summary.busyMs, 0)} ms, the rest waiting (on the commands the collectors run, mostly)`,
        header: ['package', 'self', 'share of busy'],
        rows: agent.summary.byPackage.slice(0, 10).map((p) => [p.name, `${fmt(p.selfMs, 0)} ms`, `${fmt(100 * p.share, 1)} %`]),
      },
    ],
    notes: [
      `Profile: ${join(profDir, file)}${ctx.options.keepTemp ? '' : ' (deleted at the end; keep it with --keep-temp)'}. --cpu-prof samples the main thread only, on the wall clock: WebCrypto's work on libuv's thread pool is not in it, and when the machine is short of cores the time the thread waited for one is charged to whatever it was doing (typically a syscall such as writev).`,
      'Shares are of the main thread\'s non-idle time in the window; "inclusive" counts a function with everything it called (nested steps overlap).',
    ],
    data: { ingest, authz, ingestProfile, authzProfile, agent },
  };
}

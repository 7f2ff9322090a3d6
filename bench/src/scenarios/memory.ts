/**
 * Memory: the resident memory of the embedded (PGlite) server with 1,000 enrolled devices.
 * Idle, after every device reported once and full garbage collections settled it; then under
 * the ingest scenario's load, sampled every half second. Beside it, in the same run: a bare
 * `node` process, and `node` with PGlite opened on the same data directory with PGlite's
 * defaults (what the server would hold before anything of its own). Goals: idle ≤ 200 MiB,
 * under load ≤ 1.5× that.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunContext } from '../context.js';
import { track, stopChild } from '../lib/children.js';
import { spread } from '../lib/fleet.js';
import { summarize } from '../lib/stats.js';
import { deploy, measureIngest, warmUp } from './flows.js';
import { compare, COMPARISON_HEADER, type ScenarioReport } from './report.js';

export const MEMORY_GOALS = { fleet: 1000, idleMiB: 200, loadFactor: 1.5 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS, RssAnon (heaps, WASM memory), RssFile (mapped code) and VmHWM of a process, in MiB. */
export interface Resident {
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
  peakMiB: number;
}

function resident(pid: number): Resident {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rssMiB: 0, anonMiB: 0, fileMiB: 0, peakMiB: 0 };
  }
  const mib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rssMiB: mib('VmRSS'), anonMiB: mib('RssAnon'), fileMiB: mib('RssFile'), peakMiB: mib('VmHWM') };
}

/**
 * A child `node` running `source` (an ES module), read once it prints "ready" and has idled
 * `settleMs`; then stopped.
 */
async function childResident(source: string, settleMs: number): Promise<Resident> {
  const child = track(spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baseline process not ready within 120 s: ${stderr.slice(-1000)}`)), 120_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`baseline process exited ${code}: ${stderr.slice(-1000)}`)));
    });
    await sleep(settleMs);
    return resident(child.pid as number);
  } finally {
    await stopChild(child, 'SIGTERM', 10_000);
  }
}

/** PGlite with its defaults on the server's data directory, after the queries a first look at the fleet makes. */
function pgliteDefaultsSource(dataDir: string): string {
  const backend = createRequire(import.meta.url).resolve('@postern/backend');
  const pglite = pathToFileURL(createRequire(backend).resolve('@electric-sql/pglite')).href;
  return `import { PGlite } from ${JSON.stringify(pglite)};
const db = await PGlite.create(${JSON.stringify(join(dataDir, 'pglite'))});
for (const t of ['devices', 'device_standing', 'device_posture', 'attestations', 'events']) await db.query('select count(*) from ' + t);
globalThis.gc(); await new Promise((r) => setTimeout(r, 500)); globalThis.gc();
console.log('ready');
process.once('SIGTERM', () => db.close().then(() => process.exit(0)));
setInterval(() => undefined, 1 << 30);`;
}

const BARE_NODE = `console.log('ready'); setInterval(() => undefined, 1 << 30);`;

export async function memoryScenario(ctx: RunContext): Promise<ScenarioReport> {
  const fleet = MEMORY_GOALS.fleet;
  const shape = { ...ctx.sizes.ingest, connections: Math.min(ctx.sizes.ingest.connections.pglite, fleet), durationMs: ctx.sizes.ingest.durationMs };
  const bare = await childResident(BARE_NODE, 1000);
  ctx.log(`bare node: RSS ${bare.rssMiB.toFixed(0)} MiB`);

  const dep = await deploy(ctx, 'pglite', fleet, { label: 'memory', inspect: true });
  const pid = dep.server.pid;
  let idle: Resident;
  let idleHeapMiB: number;
  let load: { samples: number[]; figures: Awaited<ReturnType<typeof measureIngest>> };
  let afterLoad: Resident;
  const started = resident(pid);
  try {
    await warmUp(ctx, dep, spread(fleet, fleet));
    // Idle: the reports' garbage collected, the timers (sweep, consumers) run a few times.
    await dep.server.collectGarbage();
    await sleep(5000);
    await dep.server.collectGarbage();
    await sleep(1000);
    idle = resident(pid);
    idleHeapMiB = heapUsed(await dep.server.metricsText());
    ctx.log(`idle with ${fleet} devices: RSS ${idle.rssMiB.toFixed(0)} MiB (anon ${idle.anonMiB.toFixed(0)}, file ${idle.fileMiB.toFixed(0)}), V8 heap used ${idleHeapMiB.toFixed(0)} MiB`);

    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(resident(pid).rssMiB);
        await sleep(500);
      }
    })();
    try {
      const figures = await measureIngest(ctx, dep, spread(fleet, fleet), shape);
      load = { samples, figures };
    } finally {
      sampling = false;
      await sampler;
    }
    await dep.server.collectGarbage();
    await sleep(2000);
    afterLoad = resident(pid);
  } finally {
    await dep.stop();
  }
  const loadStats = summarize(load.samples);
  ctx.log(`under ingest (${load.figures.perSecond.toFixed(0)} reports/s): RSS mean ${loadStats.mean.toFixed(0)} MiB, max ${loadStats.max.toFixed(0)} MiB; after it and a GC ${afterLoad.rssMiB.toFixed(0)} MiB`);

  const defaults = await childResident(pgliteDefaultsSource(dep.dataDir), 1000);
  ctx.log(`node + PGlite defaults on the same data: RSS ${defaults.rssMiB.toFixed(0)} MiB`);

  const loadGoal = MEMORY_GOALS.idleMiB * MEMORY_GOALS.loadFactor;
  const rows = [
    compare(`idle server RSS, ${fleet} devices reported once`, idle.rssMiB, { unit: 'MiB', baseline: defaults.rssMiB, baselineLabel: '(node + PGlite defaults)', goal: `≤ ${MEMORY_GOALS.idleMiB} MiB`, met: idle.rssMiB <= MEMORY_GOALS.idleMiB }),
    compare('  of which anonymous (V8 heap, WASM memory)', idle.anonMiB, { unit: 'MiB', baseline: defaults.anonMiB, baselineLabel: '(node + PGlite defaults)' }),
    compare('  of which mapped files (code)', idle.fileMiB, { unit: 'MiB', baseline: defaults.fileMiB, baselineLabel: '(node + PGlite defaults)' }),
    compare('  V8 heap used', idleHeapMiB, { unit: 'MiB' }),
    compare('server RSS just after start-up', started.rssMiB, { unit: 'MiB', baseline: bare.rssMiB, baselineLabel: '(bare node)' }),
    compare(`server RSS under ingest, mean (${Math.round(load.figures.perSecond)} reports/s)`, loadStats.mean, { unit: 'MiB', baseline: idle.rssMiB, baselineLabel: '(idle)' }),
    compare('server RSS under ingest, max', loadStats.max, { unit: 'MiB', baseline: idle.rssMiB, baselineLabel: '(idle)', goal: `≤ ${loadGoal} MiB (${MEMORY_GOALS.loadFactor}× idle goal)`, met: loadStats.max <= loadGoal }),
    compare('server RSS after the load and a GC', afterLoad.rssMiB, { unit: 'MiB', baseline: idle.rssMiB, baselineLabel: '(idle)' }),
  ];
  return {
    tables: [{ title: 'Embedded server memory vs goals', header: COMPARISON_HEADER, rows }],
    notes: [
      `Fleet: ${fleet} seeded devices on PGlite, each reported once before idle was read (two full GCs through the inspector, 6 s apart). RSS from /proc/<pid>/status (MiB).`,
      `Load: ${load.figures.connections} connections each reporting every ${shape.spacingMs} ms for ${shape.durationMs / 1000} s (the ingest scenario's shape), RSS sampled every 0.5 s (${load.samples.length} samples); ${load.figures.accepted} reports accepted.`,
      `Baselines: a bare \`node\` (${bare.rssMiB.toFixed(0)} MiB), and \`node\` with PGlite opened with its defaults on the server's data directory after the server stopped (${defaults.rssMiB.toFixed(0)} MiB; its shared_buffers alone are 128 MB).`,
    ],
    data: { fleet, bare, defaults, started, idle, idleHeapMiB, load: { samples: load.samples, stats: loadStats, ingest: load.figures }, afterLoad },
  };
}

function heapUsed(metrics: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('postern_nodejs_heap_size_used_bytes '));
  return line ? Number(line.split(' ')[1]) / 2 ** 20 : NaN;
}

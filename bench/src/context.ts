/**
 * What one `pnpm bench` invocation shares across scenarios: its options and sizes, a scratch
 * directory, the PostgreSQL cluster (started once, one database per measurement), the
 * baselines (measured once per run, beside every figure that is compared with them), and
 * the results files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type BenchPostgres } from './lib/postgres.js';
import { machineInfo, type MachineInfo } from './lib/proc.js';
import { resultsDir } from './lib/paths.js';

export interface BenchOptions {
  quick: boolean;
  /** PostgreSQL with fsync and synchronous commit on (a deployment's settings). */
  durable: boolean;
  keepTemp: boolean;
}

/** Every size and duration, for the full run and for --quick. */
export function sizesFor(quick: boolean) {
  return quick
    ? {
        fleet: 1000,
        ingest: { connections: { postgresql: 1500, pglite: 800 }, spacingMs: 1000, warmupMs: 2000, durationMs: 5000, halfDurationMs: 4000, workers: 1 },
        warmUp: { concurrency: 100, workers: 2 },
        authz: { connections: 10, warmupS: 1, durationS: 3, tokens: 1000, pairs: 2 },
        verify: { warmupS: 0.5, durationS: 2, concurrency: 16 },
        connections: { steps: [500, 1000], perWorker: 5000, idleS: 10, settleS: 3, pingIntervalMs: 60_000 },
        agent: { collections: 2, settleS: 5, windowS: 15 },
        scale: { fleets: [300, 1000], tokens: 1000 },
      }
    : {
        fleet: 10_000,
        // Connections offer one report a second each: more than the server answers (saturated).
        ingest: { connections: { postgresql: 4000, pglite: 3000 }, spacingMs: 1000, warmupMs: 3000, durationMs: 15_000, halfDurationMs: 10_000, workers: 1 },
        warmUp: { concurrency: 200, workers: 2 },
        // Enough requests in flight that the server sets the rate, not the client's round trips: with
        // 10, the profile found the server's main thread idle half the time at "saturation" (each
        // request waits for its proof id's group commit).
        // pairs: saturated windows of forward-auth and of the compliance API, each between two windows
        // of its baseline (lib/alternate.ts).
        authz: { connections: 32, warmupS: 2, durationS: 10, tokens: 10_000, pairs: 3 },
        verify: { warmupS: 1, durationS: 5, concurrency: 16 },
        connections: { steps: [10_000, 50_000], perWorker: 5000, idleS: 30, settleS: 5, pingIntervalMs: 60_000 },
        agent: { collections: 5, settleS: 5, windowS: 125 },
        scale: { fleets: [1000, 10_000, 100_000], tokens: 10_000 },
      };
}
export type Sizes = ReturnType<typeof sizesFor>;

export class RunContext {
  readonly startedAt = new Date();
  readonly stamp = this.startedAt.toISOString().replace(/[:.]/g, '-').replace('Z', '');
  readonly machine: MachineInfo = machineInfo();
  readonly sizes: Sizes;
  readonly tmp = mkdtempSync(join(tmpdir(), 'postern-bench-'));
  /** Figures one scenario measured that another may reuse in the same run (same sizes, same server). */
  readonly shared = new Map<string, unknown>();
  /** Scenarios of this invocation, in order. */
  selected: string[] = [];
  private pg: Promise<BenchPostgres> | undefined;
  private readonly closers: Array<() => Promise<void>> = [];
  private databases = 0;
  private readonly t0 = performance.now();

  constructor(readonly options: BenchOptions) {
    this.sizes = sizesFor(options.quick);
  }

  log(message: string): void {
    const s = ((performance.now() - this.t0) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[bench ${s}s] ${message}\n`);
  }

  postgres(): Promise<BenchPostgres> {
    this.pg ??= startPostgres({ durable: this.options.durable }).then((pg) => {
      this.log(`PostgreSQL: ${pg.version} (${Object.entries(pg.settings).map(([k, v]) => `${k}=${v}`).join(', ')})`);
      return pg;
    });
    return this.pg;
  }

  async newDatabase(label: string): Promise<string> {
    const pg = await this.postgres();
    return pg.createDatabase(`bench_${++this.databases}_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`);
  }

  dir(label: string): string {
    const dir = join(this.tmp, `${String(++this.databases).padStart(2, '0')}-${label}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** bench/results/<scenario>-<timestamp>.json */
  writeResult(scenario: string, data: unknown): string {
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${scenario}-${this.stamp}.json`);
    const body = { scenario, startedAt: this.startedAt.toISOString(), quick: this.options.quick, machine: this.machine, ...(data as object) };
    writeFileSync(file, `${JSON.stringify(body, (_k, v: unknown) => (v instanceof Float64Array ? undefined : v), 2)}\n`);
    return file;
  }

  /** Something to stop at the end of the run unless a later scenario took it over. */
  onClose(closer: () => Promise<void>): void {
    this.closers.push(closer);
  }

  /** Whether a scenario after the current one will run. */
  willRun(scenario: string, current: string): boolean {
    return this.selected.indexOf(scenario) > this.selected.indexOf(current);
  }

  async close(): Promise<void> {
    for (const closer of this.closers.splice(0)) await closer().catch(() => undefined);
    if (this.pg) (await this.pg.catch(() => undefined))?.stop();
    if (!this.options.keepTemp) rmSync(this.tmp, { recursive: true, force: true });
  }
}

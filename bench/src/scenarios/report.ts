/** What a scenario hands back: tables to print (and paste into BENCHMARKS.md) and its raw data. */
import { fmt, type LatencySummary } from '../lib/stats.js';

export interface ReportTable {
  title: string;
  header: string[];
  rows: Array<Array<string | number>>;
}

export interface ScenarioReport {
  tables: ReportTable[];
  notes: string[];
  data: Record<string, unknown>;
}

export const COMPARISON_HEADER = ['figure', 'measured', 'baseline', 'ratio', 'goal', 'met?'];

/** One row of figure | measured | baseline | ratio | goal | met?. */
export function compare(
  figure: string,
  measured: number,
  options: { unit?: string; decimals?: number; baseline?: number | null; baselineLabel?: string; goal?: string; met?: boolean | null },
): Array<string> {
  const unit = options.unit ? ` ${options.unit}` : '';
  const d = options.decimals ?? 0;
  const baseline = options.baseline ?? null;
  return [
    figure,
    `${fmt(measured, d)}${unit}`,
    baseline === null ? (options.baselineLabel ?? '–') : `${fmt(baseline, d)}${unit}${options.baselineLabel ? ` ${options.baselineLabel}` : ''}`,
    baseline === null || baseline === 0 ? '–' : `${(measured / baseline).toFixed(2)}×`,
    options.goal ?? '–',
    options.met === undefined || options.met === null ? '–' : options.met ? 'yes' : 'no',
  ];
}

export const ms = (v: number) => `${fmt(v, v < 10 ? 2 : 1)} ms`;
export const pct = (v: number) => `${fmt(v, 0)} %`;
export const mibText = (v: number) => `${fmt(v, 0)} MiB`;

/** What every load measurement has, whatever drove it. */
export interface LoadFigures {
  latencyMs: LatencySummary;
  server: { cpuPercent: number; rssMiB: number };
  database: { cpuPercent: number };
}

export const LOAD_HEADER = ['p50', 'p99', 'server CPU', 'server RSS', 'database CPU'];

/** p50, p99, server CPU and RSS, database CPU (or what stands in its place). */
export function loadCells(f: LoadFigures, database: string | null = null): string[] {
  return [ms(f.latencyMs.p50), ms(f.latencyMs.p99), pct(f.server.cpuPercent), mibText(f.server.rssMiB), database ?? pct(f.database.cpuPercent)];
}

/** Above this much CPU used by anything else during a window, its figures are marked as contended. */
export const CONTENDED_PERCENT = 25;

/** A note naming the windows during which the machine was busy with something else. */
export function contentionNote(windows: Array<{ label: string; otherPercent: number }>): string[] {
  const busy = windows.filter((w) => w.otherPercent > CONTENDED_PERCENT);
  if (busy.length === 0) return [];
  return [`Contended: other programs used more than ${CONTENDED_PERCENT} % of a core during ${busy.map((w) => `${w.label} (${fmt(w.otherPercent)} %)`).join(', ')}; those figures understate the server. Run again on a quiet machine.`];
}

/** A histogram bound as a latency: "≤ 2.5 ms", or past its last bound. */
export function boundText(boundMs: number | null): string {
  if (boundMs === null) return '–';
  return Number.isFinite(boundMs) ? `≤ ${fmt(boundMs, boundMs < 10 ? 1 : 0)} ms` : 'past its last bound';
}

/**
 * What the kernel says about a process: CPU time and memory from /proc, so the server is
 * measured from the outside, the same way whatever runs inside it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

let clockTicks: number | undefined;
/** USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface StatFields {
  ppid: number;
  /** user + system CPU seconds of the process itself (all its threads). */
  self: number;
  /** user + system CPU seconds of its children that it has waited for. */
  children: number;
}

function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  const n = (field: number) => Number(fields[field - 3]);
  const hz = ticksPerSecond();
  return { ppid: n(4), self: (n(14) + n(15)) / hz, children: (n(16) + n(17)) / hz };
}

/** CPU seconds used so far by a process (and, with `children`, by the children it reaped). */
export function cpuSeconds(pid: number, options: { children?: boolean } = {}): number {
  const stat = readStat(pid);
  if (!stat) return 0;
  return stat.self + (options.children ? stat.children : 0);
}

/** Resident memory now and at its peak, in bytes (VmRSS, VmHWM). */
export function memory(pid: number): { rss: number; peak: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rss: 0, peak: 0 };
  }
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The process and all its descendants (PostgreSQL forks one backend per connection). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = parents.get(stat.ppid) ?? [];
    list.push(Number(entry));
    parents.set(stat.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < 10_000) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(parents.get(pid) ?? []));
  }
  return out;
}

/** The soft limit on open files of a running process. */
export function openFileLimit(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    return Number(line?.split(/\s{2,}/)[1]) || 1024;
  } catch {
    return 1024;
  }
}

/**
 * CPU used by a set of processes between `start()` and `stop()`, as a share of one core
 * (100 % = one core busy for the whole window). `pids` is re-read at each end, so
 * processes that come and go (PostgreSQL backends) are counted while they live.
 */
export class CpuWindow {
  private startedAt = 0;
  private readonly before = new Map<number, number>();

  constructor(
    private readonly pids: () => number[],
    private readonly options: { children?: boolean } = {},
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.before.clear();
    for (const pid of this.pids()) this.before.set(pid, cpuSeconds(pid, this.options));
  }

  stop(): { seconds: number; wallSeconds: number; percent: number } {
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    let seconds = 0;
    for (const pid of this.pids()) seconds += cpuSeconds(pid, this.options) - (this.before.get(pid) ?? 0);
    return { seconds, wallSeconds, percent: wallSeconds > 0 ? (100 * seconds) / wallSeconds : 0 };
  }
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  loadAverageAtStart: number[];
  openFileLimit: number;
}

export function machineInfo(): MachineInfo {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    openFileLimit: openFileLimit(process.pid),
  };
}

function readProcStat(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const hz = ticksPerSecond();
  return { busy: (user + nice + system + irq + softirq) / hz, steal: steal / hz, total: (user + nice + system + idle + iowait + irq + softirq + steal) / hz };
}

/**
 * CPU of the whole machine over a window, in the same unit as CpuWindow (100 % = one core):
 * what everything on it used, and the time the hypervisor gave to other guests (steal).
 */
export class MachineWindow {
  private before = readProcStat();
  private startedAt = performance.now();

  start(): void {
    this.before = readProcStat();
    this.startedAt = performance.now();
  }

  stop(): { busyPercent: number; stealPercent: number } {
    const after = readProcStat();
    const wall = (performance.now() - this.startedAt) / 1000;
    return { busyPercent: (100 * (after.busy - this.before.busy)) / wall, stealPercent: (100 * (after.steal - this.before.steal)) / wall };
  }
}

/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by
 * function and by package, and inclusive time of the functions named, optionally only for
 * samples inside a window of the monotonic clock (µs) — V8 stamps samples with it.
 *
 *   node bench/dist/profile/analyze.js <file.cpuprofile> [startUs endUs]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  sampledMs: number;
  /** Share of the window the process was on CPU (samples not in (idle)). */
  busyMs: number;
  byFunction: Array<{ name: string; where: string; selfMs: number; share: number }>;
  byPackage: Array<{ name: string; selfMs: number; share: number }>;
  inclusive: Array<{ name: string; totalMs: number; share: number }>;
}

/** Where a script comes from: a package of node_modules, one of ours, Node itself, or V8. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url) ?? /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm?.[1]) return pnpm[1];
  const ours = /\/(backend|shared|agent)\/dist\//.exec(url);
  if (ours?.[1]) return `postern ${ours[1]}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal').replace(/\.js$/, '') : parts[0]}`;
  }
  return url;
}

function shortWhere(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const pkg = packageOf(frame);
  const file = url.split('/').slice(-2).join('/');
  return url ? `${pkg} ${file}:${frame.lineNumber + 1}` : pkg;
}

export function analyzeProfile(profile: CpuProfile, options: { windowUs?: [number, number]; inclusiveOf?: string[]; top?: number } = {}): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const [from, to] = options.windowUs ?? [-Infinity, Infinity];
  const selfByNode = new Map<number, number>();
  let t = profile.startTime;
  let sampled = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample stands for the time until the next one.
    const weight = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const id = profile.samples[i] as number;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + weight);
    sampled += weight;
  }
  const byFunction = new Map<string, { name: string; where: string; selfMs: number }>();
  const byPackage = new Map<string, number>();
  const wanted = new Set(options.inclusiveOf ?? []);
  const inclusive = new Map<string, number>();
  let idle = 0;
  for (const [id, ms] of selfByNode) {
    const node = byId.get(id);
    if (!node) continue;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') idle += ms;
    const name = frame.functionName || '(anonymous)';
    const key = `${name} ${shortWhere(frame)}`;
    const entry = byFunction.get(key) ?? { name, where: shortWhere(frame), selfMs: 0 };
    entry.selfMs += ms;
    byFunction.set(key, entry);
    const pkg = packageOf(frame);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
    if (wanted.size > 0) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const fn = byId.get(at)?.callFrame.functionName ?? '';
        if (wanted.has(fn) && !seen.has(fn)) {
          seen.add(fn);
          inclusive.set(fn, (inclusive.get(fn) ?? 0) + ms);
        }
      }
    }
  }
  const busy = sampled - idle;
  const share = (ms: number) => (busy > 0 ? ms / busy : 0);
  const top = options.top ?? 25;
  return {
    sampledMs: sampled,
    busyMs: busy,
    byFunction: [...byFunction.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, share: share(f.selfMs) })),
    byPackage: [...byPackage.entries()]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, selfMs]) => ({ name, selfMs, share: share(selfMs) })),
    inclusive: [...inclusive.entries()].sort((a, b) => b[1] - a[1]).map(([name, totalMs]) => ({ name, totalMs, share: share(totalMs) })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, start, end] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/dist/profile/analyze.js <file.cpuprofile> [startUs endUs]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const summary = analyzeProfile(profile, start && end ? { windowUs: [Number(start), Number(end)] } : {});
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

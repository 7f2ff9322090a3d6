/**
 * Agent: the real `postern-agent` on this machine. Wall time and peak resident memory of one
 * full collection (`collect --json`, a whole process, Node start-up included), and the CPU
 * and memory of `postern-agent run` reporting to a local server over a steady-state window,
 * collectors' child processes included. Both for the workspace and for the installed artefact,
 * the single-file executable `pnpm package` builds. Goals: 1 s, 50 MB, 0.5 %.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { run, stopChild, track } from '../lib/children.js';
import { agentBin, repoRoot } from '@postern/testkit/paths';
import { CpuWindow, memory } from '../lib/proc.js';
import { fmt, summarize } from '../lib/stats.js';
import { deploy } from './flows.js';
import { compare, COMPARISON_HEADER, type ScenarioReport } from './report.js';

export const AGENT_GOALS = { collectSeconds: 1, rssMB: 50, cpuPercent: 0.5 };
/** The agent's posture re-check period and the default report interval (agent/src/stream). */
const CHECK_INTERVAL_S = 60;
const REPORT_INTERVAL_S = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TIME = '/usr/bin/time';

interface Timed {
  wallSeconds: number;
  cpuSeconds: number | null;
  /** The agent process's own peak (VmHWM), its commands not included. */
  maxRssMB: number | null;
  /** GNU time's maximum resident set: the largest of the process and every command it ran (apt list alone takes 50 MB). */
  maxRssWithCommandsMB: number | null;
}

/** The first child of `pid` (the command GNU time runs), when the kernel lists it. */
function firstChild(pid: number): number | undefined {
  try {
    const first = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    return first > 0 ? first : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a command under GNU time -v when present (CPU of it and its children, and their largest
 * resident set), else alone; either way polls the command's own VmHWM from /proc every 5 ms.
 */
async function timed(command: string, args: string[]): Promise<Timed & { code: number | null; stdout: string }> {
  const started = performance.now();
  const underTime = existsSync(TIME);
  const child = track(spawn(underTime ? TIME : command, underTime ? ['-v', command, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-100_000)));
  let agentPid = underTime ? undefined : child.pid;
  let peak = 0;
  const poll = setInterval(() => {
    agentPid ??= firstChild(child.pid as number);
    if (agentPid !== undefined) peak = Math.max(peak, memory(agentPid).peak);
  }, 5);
  const timeout = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(poll);
  clearTimeout(timeout);
  const wallSeconds = (performance.now() - started) / 1000;
  const maxRssMB = peak > 0 ? peak / 1e6 : null;
  if (!underTime) return { wallSeconds, cpuSeconds: null, maxRssMB, maxRssWithCommandsMB: null, code, stdout };
  const num = (label: string) => Number(new RegExp(`${label}: ([\\d.]+)`).exec(stderr)?.[1] ?? NaN);
  return { wallSeconds, cpuSeconds: num('User time \\(seconds\\)') + num('System time \\(seconds\\)'), maxRssMB, maxRssWithCommandsMB: (num('Maximum resident set size \\(kbytes\\)') * 1024) / 1e6, code, stdout };
}

/** One way the agent is run: the workspace (`node bin/postern-agent.js`) or the installed single executable. */
interface AgentArtefact {
  label: string;
  command: string;
  args: string[];
}

/**
 * The single-file executable as `pnpm package` builds it for this machine: taken from
 * dist/packages when a tarball of this version is there, else built into the scratch
 * directory (the runtime comes from the npm registry once, then from dist/runtimes).
 * Null, with the reason, when it cannot be had.
 */
async function installedAgent(ctx: RunContext): Promise<{ artefact: AgentArtefact | null; how: string }> {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) return { artefact: null, how: `no single executable is packaged for ${process.platform}-${process.arch} by this bench` };
  const version = (JSON.parse(readFileSync(join(repoRoot, 'agent', 'package.json'), 'utf8')) as { version: string }).version;
  const name = `postern-agent-${version}-linux-${process.arch}`;
  let tarball = join(repoRoot, 'dist', 'packages', `${name}.tar.gz`);
  let how = `dist/packages/${name}.tar.gz`;
  if (!existsSync(tarball)) {
    const out = ctx.dir('agent-package');
    ctx.log(`agent: building the single executable (node scripts/package.mjs --targets linux-${process.arch} --formats tar --fast)`);
    const built = await run(process.execPath, [join(repoRoot, 'scripts', 'package.mjs'), '--targets', `linux-${process.arch}`, '--formats', 'tar', '--fast', '--out', out], { timeoutMs: 600_000 });
    if (built.code !== 0) return { artefact: null, how: `building it failed (exit ${built.code}): ${built.stderr.trim().split('\n').slice(-3).join(' ')}` };
    tarball = join(out, `${name}.tar.gz`);
    how = 'built by this run with `pnpm package --targets linux-' + process.arch + ' --formats tar --fast`';
  }
  const unpacked = ctx.dir('agent-installed');
  const untar = await run('tar', ['-xzf', tarball, '-C', unpacked], { timeoutMs: 120_000 });
  if (untar.code !== 0) return { artefact: null, how: `unpacking ${tarball} failed: ${untar.stderr.trim()}` };
  return { artefact: { label: 'installed executable', command: join(unpacked, name, 'postern-agent'), args: [] }, how };
}

interface AgentFigures {
  collections: Timed[];
  wall: ReturnType<typeof summarize>;
  rss: ReturnType<typeof summarize>;
  rssWithCommands: ReturnType<typeof summarize>;
  collectCpu: ReturnType<typeof summarize>;
  window: { seconds: number; percent: number; wallSeconds: number };
  commandsCpuSeconds: number;
  checks: number;
  perIntervalPercent: number | null;
  rssSamples: number[];
  rssStats: ReturnType<typeof summarize>;
  peakMB: number;
  sinceFirstReportS: number;
}

/** Collections, then the long-running agent against `serverUrl` over a steady-state window. */
async function measureAgent(ctx: RunContext, artefact: AgentArtefact, server: { url: string; adminCli<T>(args: string[]): Promise<T> }): Promise<AgentFigures> {
  const sizes = ctx.sizes.agent;
  const collections: Timed[] = [];
  for (let i = 0; i < sizes.collections; i++) {
    const r = await timed(artefact.command, [...artefact.args, 'collect', '--json']);
    if (r.code !== 0) throw new Error(`${artefact.label}: postern-agent collect --json exited ${r.code}`);
    JSON.parse(r.stdout);
    collections.push(r);
  }
  const wall = summarize(collections.map((c) => c.wallSeconds));
  const rss = summarize(collections.map((c) => c.maxRssMB ?? NaN));
  const rssWithCommands = summarize(collections.map((c) => c.maxRssWithCommandsMB ?? NaN));
  const collectCpu = summarize(collections.map((c) => c.cpuSeconds ?? NaN));
  ctx.log(`${artefact.label}: collect --json: wall p50 ${wall.p50.toFixed(2)} s, peak RSS ${rss.max.toFixed(0)} MB (${rssWithCommands.max.toFixed(0)} MB with its commands), CPU ${collectCpu.p50.toFixed(2)} s`);

  const state = ctx.dir(`agent-state-${artefact.label.replace(/\W+/g, '-')}`);
  const { token } = await server.adminCli<{ token: string }>(['token', 'create', '--group', 'employees', '--uses', '1']);
  const enrolled = await run(artefact.command, [...artefact.args, 'enroll', '--server', server.url, '--token', token, '--state', state], { timeoutMs: 60_000 });
  if (enrolled.code !== 0) throw new Error(`${artefact.label}: postern-agent enroll failed: ${enrolled.stderr}`);
  const logFile = join(state, 'agent.log');
  const log = openSync(logFile, 'a');
  const agent = track(spawn(artefact.command, [...artefact.args, 'run', '--state', state], { stdio: ['ignore', log, log] }));
  closeSync(log);
  const pid = agent.pid as number;
  try {
    const deadline = Date.now() + 60_000;
    while (!/report \d+ accepted/.test(readFileSync(logFile, 'utf8'))) {
      if (Date.now() > deadline || agent.exitCode !== null) throw new Error(`${artefact.label}: the agent did not report within 60 s:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      await sleep(200);
    }
    const firstReportAt = performance.now();
    await sleep(sizes.settleS * 1000);
    // Steady state: the window holds the agent's posture re-checks (one a minute), no start-up.
    const cpu = new CpuWindow(() => [pid], { children: true });
    const own = new CpuWindow(() => [pid]);
    const rssSamples: number[] = [];
    cpu.start();
    own.start();
    const windowEnd = performance.now() + sizes.windowS * 1000;
    while (performance.now() < windowEnd && agent.exitCode === null) {
      rssSamples.push(memory(pid).rss / 1e6);
      await sleep(1000);
    }
    const window = cpu.stop();
    // The rest is the commands the collectors ran (reaped children): evidence the re-checks ran.
    const agentOnly = own.stop();
    const commandsCpuSeconds = window.seconds - agentOnly.seconds;
    const peakMB = memory(pid).peak / 1e6;
    const checks = Math.floor((sizes.settleS + sizes.windowS) / CHECK_INTERVAL_S) - Math.floor(sizes.settleS / CHECK_INTERVAL_S);
    // Over a real interval: the window's rate scaled to 300 s (5 re-checks), plus one more
    // collection for the report itself — scaled from the window, so an upper bound.
    const perIntervalPercent = checks > 0 ? window.percent * (6 / 5) : null;
    const rssStats = summarize(rssSamples);
    ctx.log(`${artefact.label}: agent run: ${window.percent.toFixed(2)} % CPU over ${window.wallSeconds.toFixed(0)} s (${checks} re-checks; ${commandsCpuSeconds.toFixed(2)} CPU s in collector commands), RSS avg ${rssStats.mean.toFixed(0)} MB, peak ${peakMB.toFixed(0)} MB`);
    return { collections, wall, rss, rssWithCommands, collectCpu, window, commandsCpuSeconds, checks, perIntervalPercent, rssSamples, rssStats, peakMB, sinceFirstReportS: (performance.now() - firstReportAt) / 1000 };
  } finally {
    await stopChild(agent, 'SIGTERM', 10_000);
  }
}

function agentRows(label: string, f: AgentFigures, floor: Timed[]): string[][] {
  const floorOf = (pick: (t: Timed) => number | null, max = false) => {
    const s = summarize(floor.map((n) => pick(n) ?? NaN));
    return max ? s.max : s.p50;
  };
  return [
    compare(`${label}: one full collection, wall time (process)`, f.wall.p50, { unit: 's', decimals: 2, baseline: floorOf((n) => n.wallSeconds), baselineLabel: '(node -e 0)', goal: `≤ ${AGENT_GOALS.collectSeconds} s`, met: f.wall.p50 <= AGENT_GOALS.collectSeconds }),
    compare(`${label}: one full collection, CPU time (with children)`, f.collectCpu.p50, { unit: 's', decimals: 2, baseline: floorOf((n) => n.cpuSeconds), baselineLabel: '(node -e 0)' }),
    compare(`${label}: collection peak RSS (the agent process, VmHWM)`, f.rss.max, { unit: 'MB', decimals: 0, baseline: floorOf((n) => n.maxRssMB, true), baselineLabel: '(node -e 0)', goal: `≤ ${AGENT_GOALS.rssMB} MB`, met: f.rss.max <= AGENT_GOALS.rssMB }),
    compare(`${label}:   the largest of it and its commands (GNU time)`, f.rssWithCommands.max, { unit: 'MB', decimals: 0 }),
    compare(`${label}: running agent RSS (average / peak)`, f.rssStats.mean, { unit: 'MB', decimals: 0, baselineLabel: `peak ${fmt(f.peakMB, 0)} MB`, goal: `≤ ${AGENT_GOALS.rssMB} MB`, met: f.peakMB <= AGENT_GOALS.rssMB && f.rssStats.mean <= AGENT_GOALS.rssMB }),
    compare(`${label}: running agent CPU, measured (${fmt(f.window.wallSeconds, 0)} s, ${f.checks} re-checks)`, f.window.percent, { unit: '%', decimals: 2, goal: `≤ ${AGENT_GOALS.cpuPercent} %`, met: f.window.percent <= AGENT_GOALS.cpuPercent }),
    compare(`${label}:   of which collector commands (children)`, (100 * f.commandsCpuSeconds) / f.window.wallSeconds, { unit: '%', decimals: 2 }),
    ...(f.perIntervalPercent === null
      ? []
      : [compare(`${label}: running agent CPU over a ${REPORT_INTERVAL_S} s interval (5 re-checks + 1 report)`, f.perIntervalPercent, { unit: '%', decimals: 2, goal: `≤ ${AGENT_GOALS.cpuPercent} %`, met: f.perIntervalPercent <= AGENT_GOALS.cpuPercent })]),
  ];
}

export async function agentScenario(ctx: RunContext): Promise<ScenarioReport> {
  // Node itself, for scale: the floor under any Node agent's wall time and memory.
  const nodeFloor: Timed[] = [];
  for (let i = 0; i < 3; i++) nodeFloor.push(await timed(process.execPath, ['-e', '0']));
  const workspace: AgentArtefact = { label: 'workspace', command: process.execPath, args: [agentBin] };
  const installed = await installedAgent(ctx);
  if (!installed.artefact) ctx.log(`agent: the installed executable is not measured: ${installed.how}`);

  // The long-running agent against a local server (PGlite), reporting on its real schedule.
  const dep = await deploy(ctx, 'pglite', 0, { label: 'agent' });
  const measured: Array<{ artefact: AgentArtefact; figures: AgentFigures }> = [];
  try {
    for (const artefact of [workspace, ...(installed.artefact ? [installed.artefact] : [])]) measured.push({ artefact, figures: await measureAgent(ctx, artefact, dep.server) });
  } finally {
    await dep.stop();
  }
  const rows = measured.flatMap(({ artefact, figures }) => agentRows(artefact.label, figures, nodeFloor));
  return {
    tables: [{ title: 'Agent vs goals', header: COMPARISON_HEADER, rows }],
    notes: [
      `Collections: ${ctx.sizes.agent.collections} runs of \`postern-agent collect --json\` per artefact (p50 shown), each a whole process including Node start-up and module loading; run as ${process.getuid?.() === 0 ? 'root' : 'an ordinary user'}.`,
      `Artefacts: the workspace (\`node agent/bin/postern-agent.js\`) and ${installed.artefact ? `the installed single executable (Node.js SEA; ${installed.how})` : `not the installed single executable (${installed.how})`}.`,
      `Running agent: \`postern-agent run\` against a local server; the window starts ${ctx.sizes.agent.settleS} s after its first report (start-up excluded) and holds its once-a-minute posture re-checks; the report interval is the server's ${REPORT_INTERVAL_S} s.`,
      "Memory: MB are 10^6 bytes. A collection's peak RSS is the agent process's own VmHWM, read from /proc every 5 ms; GNU time's maximum resident set, beside it, is the largest of the process and each command it ran (`apt list --upgradable` alone takes about 55 MB).",
      'CPU counts the agent and the commands its collectors run (lsblk, nft, apt …), from /proc (utime+stime+cutime+cstime).',
    ],
    data: { nodeFloor, installedHow: installed.how, artefacts: Object.fromEntries(measured.map(({ artefact, figures }) => [artefact.label, figures])) },
  };
}

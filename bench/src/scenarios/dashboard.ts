/**
 * The dashboard's reads at fleet scale: filtered device searches (a prefix, a verdict, a
 * failing check, an OS version, sorted, a next page) and the overview over 100,000 devices
 * (10,000 with --quick) on PostgreSQL, through the real server's HTTP API, one request at a
 * time as a person clicking would make them. The scale scenario times the same searches.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { BenchServer } from '../lib/server.js';
import { fmt, summarize, type LatencySummary } from '../lib/stats.js';
import { seedDashboardFleet } from './dashboard-fleet.js';
import { ms, type ScenarioReport } from './report.js';

export const SEARCH_GOAL_MS = 200;
const ROUNDS = 20;

/** One read to time: its label and its path, which may change each round (to miss a shared result). */
export type TimedRead = [label: string, path: string | ((round: number) => string)];

interface Page {
  next?: string | null;
  devices?: Array<{ device_id: string; os_version: string | null; platform: string }>;
}

/** GETs with the admin token, timed; throws on anything but 2xx. */
export function adminReader(url: string, token: string) {
  return async (path: string): Promise<{ ms: number; body: Page }> => {
    const started = performance.now();
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as Page;
    const took = performance.now() - started;
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
    return { ms: took, body };
  };
}

export async function readAdminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
}

/** The filtered searches a person makes over a fleet: shapes found from the fleet itself (a prefix, an OS version, a cursor). */
export async function searchShapes(get: ReturnType<typeof adminReader>, options: { hostnamePrefix: string; ownerPrefix?: string; group?: string }): Promise<TimedRead[]> {
  const sample = await get('/v1/admin/fleet/devices?limit=1&sort=enrolled&platform=linux');
  const device = sample.body.devices?.[0];
  const version = encodeURIComponent(device?.os_version ?? '');
  const second = (await get('/v1/admin/fleet/devices?verdict=noncompliant&sort=last_seen')).body.next ?? '';
  return [
    ['first page, by hostname', '/v1/admin/fleet/devices'],
    ['hostname prefix', `/v1/admin/fleet/devices?q=${encodeURIComponent(options.hostnamePrefix)}`],
    ...(options.ownerPrefix ? ([['owner prefix', `/v1/admin/fleet/devices?q=${encodeURIComponent(options.ownerPrefix)}`]] as TimedRead[]) : []),
    ['device id prefix', `/v1/admin/fleet/devices?q=${device?.device_id.slice(0, 5) ?? '0'}`],
    ['noncompliant, by last report', '/v1/admin/fleet/devices?verdict=noncompliant&sort=last_seen'],
    ['its next page (cursor)', `/v1/admin/fleet/devices?verdict=noncompliant&sort=last_seen&cursor=${second}`],
    ['failing firewall on Windows', '/v1/admin/fleet/devices?failing=firewall.enabled&platform=win32'],
    ['OS version on Linux', `/v1/admin/fleet/devices?platform=linux&os_version=${version}`],
    [
      options.group ? 'group + OS version + verdict, by score' : 'OS version + verdict, by score',
      `/v1/admin/fleet/devices?${options.group ? `group=${options.group}&` : ''}os_version=${version}&verdict=compliant,grace&sort=score`,
    ],
    ['silent for a day', '/v1/admin/fleet/devices?not_reporting_s=86400'],
  ];
}

/** Each read `rounds` times after three unmeasured ones, one at a time. */
export async function timeReads(ctx: RunContext, get: ReturnType<typeof adminReader>, reads: readonly TimedRead[], options: { rounds: number; label: string }): Promise<Array<{ label: string; latencyMs: LatencySummary }>> {
  const out: Array<{ label: string; latencyMs: LatencySummary }> = [];
  for (const [label, path] of reads) {
    const at = (round: number) => (typeof path === 'string' ? path : path(round));
    for (let i = 0; i < 3; i++) await get(at(options.rounds + i));
    const times: number[] = [];
    for (let i = 0; i < options.rounds; i++) times.push((await get(at(i))).ms);
    const s = summarize(times);
    ctx.log(`${options.label}: ${label}: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`);
    out.push({ label, latencyMs: s });
  }
  return out;
}

export const READ_HEADER = ['read', 'p50', 'p99', 'goal', 'met?'];

/** read | p50 | p99 | goal | met? (the goal is on p99). */
export function readRows(timed: ReadonlyArray<{ label: string; latencyMs: LatencySummary }>): string[][] {
  return timed.map(({ label, latencyMs: s }) => [label, ms(s.p50), ms(s.p99), `< ${SEARCH_GOAL_MS} ms`, s.p99 < SEARCH_GOAL_MS ? 'yes' : 'no']);
}

export async function dashboardScenario(ctx: RunContext): Promise<ScenarioReport> {
  const fleet = ctx.options.quick ? 10_000 : 100_000;
  const dataDir = ctx.dir('dashboard');
  const databaseUrl = await ctx.newDatabase('dashboard');
  // The server migrates the empty database first, so the seed writes into the real schema.
  const first = await BenchServer.start({ databaseUrl, dataDir, logFile: join(dataDir, 'server.log') });
  await first.stop();
  ctx.log(`dashboard: seeding ${fleet.toLocaleString('en-US')} devices with SQL`);
  const seed = await seedDashboardFleet(databaseUrl, fleet);
  ctx.log(`dashboard: seeded in ${seed.seconds.toFixed(1)} s; starting postern-server (it builds the overview's rollup from the tables)`);
  const starting = performance.now();
  const server = await BenchServer.start({ databaseUrl, dataDir, logFile: join(dataDir, 'server.log') });
  const startSeconds = (performance.now() - starting) / 1000;
  try {
    const get = adminReader(server.url, await readAdminToken(dataDir));
    const searches = await searchShapes(get, { hostnamePrefix: 'desk-0123', ownerPrefix: 'owner42@', group: 'engineering' });
    const overviews: TimedRead[] = [
      // A new end-date window each round: the overview is computed afresh, its scan figures shared (as between changes of a real fleet).
      ['overview (7 days), rollup read afresh', (round) => `/v1/admin/fleet/overview?range=7d&ending_within_s=${7 * 86_400 + round}`],
      // A new silence threshold each round: the scan of the fleet runs too (at most every 30 s per threshold in use).
      ['overview (7 days), with its fleet scan', (round) => `/v1/admin/fleet/overview?range=7d&not_reporting_s=${86_400 + round}`],
      ['overview (7 days), shared', '/v1/admin/fleet/overview?range=7d'],
    ];
    const timed = await timeReads(ctx, get, [...searches, ...overviews], { rounds: ROUNDS, label: 'dashboard' });
    const rows = readRows(timed);
    const data: Record<string, unknown> = { fleet, seedSeconds: seed.seconds, serverStartSeconds: startSeconds, reads: timed };
    return {
      tables: [{ title: `Dashboard reads over ${fmt(fleet)} devices (PostgreSQL, through the HTTP API, one request at a time, ${ROUNDS} rounds each)`, header: READ_HEADER, rows }],
      notes: [
        `Seeded with SQL in ${seed.seconds.toFixed(1)} s; the server then started in ${startSeconds.toFixed(1)} s, building the overview's rollup from the tables and the stream.`,
        'The overview reads its counts and compliance over time from the rollup the event stream keeps; the checks failing most, OS versions and silent devices from a scan of the fleet shared for 30 s ("with its fleet scan": each round a new threshold, so each round scans).',
      ],
      data,
    };
  } finally {
    await server.stop();
  }
}

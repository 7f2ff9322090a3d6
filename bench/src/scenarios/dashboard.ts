/**
 * The dashboard's reads at fleet scale: device searches (filters, sorts, a prefix, a second
 * page) and the overview over 100,000 devices (10,000 with --quick) on PostgreSQL, through
 * the real server's HTTP API, one request at a time as a person clicking would make them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { BenchServer } from '../lib/server.js';
import { fmt, summarize } from '../lib/stats.js';
import { seedDashboardFleet } from './dashboard-fleet.js';
import { COMPARISON_HEADER, compare, ms, type ScenarioReport } from './report.js';

const GOAL_MS = 200;
const ROUNDS = 20;

export async function dashboardScenario(ctx: RunContext): Promise<ScenarioReport> {
  const fleet = ctx.options.quick ? 10_000 : 100_000;
  const dataDir = ctx.dir('dashboard');
  const databaseUrl = await ctx.newDatabase('dashboard');
  // The server migrates the empty database first, so the seed writes into the real schema.
  const first = await BenchServer.start({ databaseUrl, dataDir, logFile: join(dataDir, 'server.log') });
  await first.stop();
  ctx.log(`dashboard: seeding ${fleet.toLocaleString('en-US')} devices with SQL`);
  const seed = await seedDashboardFleet(databaseUrl, fleet);
  ctx.log(`dashboard: seeded in ${seed.seconds.toFixed(1)} s; starting postern-server`);
  const server = await BenchServer.start({ databaseUrl, dataDir, logFile: join(dataDir, 'server.log') });
  try {
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const get = async (path: string): Promise<{ ms: number; body: { next?: string | null; devices?: Array<{ device_id: string }> } }> => {
      const started = performance.now();
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { next?: string | null; devices?: Array<{ device_id: string }> };
      const took = performance.now() - started;
      if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
      return { ms: took, body };
    };
    const sample = await get('/v1/admin/fleet/devices?limit=1&sort=enrolled');
    const idPrefix = sample.body.devices?.[0]?.device_id.slice(0, 5) ?? '0';
    const second = (await get('/v1/admin/fleet/devices?verdict=noncompliant&sort=last_seen')).body.next ?? '';
    // The overview is shared by requests at the same stream position; a new silence threshold each round computes it afresh.
    const searches: Array<[string, string | ((round: number) => string)]> = [
      ['first page, by hostname', '/v1/admin/fleet/devices'],
      ['noncompliant, by last report', '/v1/admin/fleet/devices?verdict=noncompliant&sort=last_seen'],
      ['its second page (cursor)', `/v1/admin/fleet/devices?verdict=noncompliant&sort=last_seen&cursor=${second}`],
      ['failing firewall on Windows', '/v1/admin/fleet/devices?failing=firewall.enabled&platform=win32'],
      ['group + OS version + verdict, by score', '/v1/admin/fleet/devices?group=engineering&os_version=24.04&verdict=compliant,grace&sort=score'],
      ['hostname prefix', '/v1/admin/fleet/devices?q=desk-0123'],
      ['owner prefix', '/v1/admin/fleet/devices?q=owner42@'],
      ['device id prefix', `/v1/admin/fleet/devices?q=${idPrefix}`],
      ['silent for a day', '/v1/admin/fleet/devices?not_reporting_s=86400'],
      ['overview (7 days), computed', (round) => `/v1/admin/fleet/overview?range=7d&not_reporting_s=${86_400 + round}`],
      ['overview (7 days), shared', '/v1/admin/fleet/overview?range=7d'],
    ];
    const rows: string[][] = [];
    const data: Record<string, unknown> = { fleet, seedSeconds: seed.seconds };
    for (const [label, path] of searches) {
      const at = (round: number) => (typeof path === 'string' ? path : path(round));
      for (let i = 0; i < 3; i++) await get(at(ROUNDS + i));
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) times.push((await get(at(i))).ms);
      const s = summarize(times);
      ctx.log(`dashboard: ${label}: p50 ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms`);
      data[label] = s;
      rows.push(compare(`${label}, p90`, s.p90, { unit: 'ms', decimals: 1, goal: `< ${GOAL_MS} ms`, met: s.p90 < GOAL_MS }));
    }
    return {
      tables: [{ title: `Dashboard reads over ${fmt(fleet)} devices (PostgreSQL, one request at a time, ${ROUNDS} rounds each)`, header: COMPARISON_HEADER, rows }],
      notes: [`Seeded with SQL in ${seed.seconds.toFixed(1)} s; p50 of the first page ${ms((data['first page, by hostname'] as { p50: number }).p50)}.`],
      data,
    };
  } finally {
    await server.stop();
  }
}

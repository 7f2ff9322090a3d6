import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { settingsFromEnv } from '../config.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { csvField } from './csv-export.js';
import { SharedResult } from './overview-cache.js';
import { foldSeries } from './overview.js';
import type { FleetDevice, FleetDeviceDetail, FleetOverview } from './schemas.js';
import { uuidPrefixRange } from './search-devices.js';

describe('compliance over time', () => {
  it('walks back from the counts of now, undoing each bucket’s changes', () => {
    // Bucket 10: two devices enrolled (unknown); 11: both reported, one compliant, one not; 12: the second was fixed.
    const moves = [
      { bucket: 10, from: null, to: 'unknown', devices: 2 },
      { bucket: 11, from: 'unknown', to: 'compliant', devices: 1 },
      { bucket: 11, from: 'unknown', to: 'noncompliant', devices: 1 },
      { bucket: 12, from: 'noncompliant', to: 'compliant', devices: 1 },
    ];
    const series = foldSeries({ compliant: 2 }, moves, 9, 12, 3600);
    expect(series.points).toEqual([
      { at: 10 * 3600, by_verdict: {} },
      { at: 11 * 3600, by_verdict: { unknown: 2 } },
      { at: 12 * 3600, by_verdict: { compliant: 1, noncompliant: 1 } },
      { at: 13 * 3600, by_verdict: { compliant: 2 } },
    ]);
  });
});

describe('shared overview computations', () => {
  it('shares one computation per key while it is fresh, and keeps no failure', async () => {
    const shared = new SharedResult<number>(60_000);
    let runs = 0;
    const compute = async () => ++runs;
    expect(await Promise.all([shared.get('seq 5', compute), shared.get('seq 5', compute)])).toEqual([1, 1]);
    expect(await shared.get('seq 6', compute)).toBe(2);
    await expect(shared.get('seq 7', () => Promise.reject(new Error('database gone')))).rejects.toThrow('database gone');
    expect(await shared.get('seq 7', compute)).toBe(3);
  });
});

describe('device search edges', () => {
  it('reads a device id prefix as a range of UUIDs, dashes only where a UUID has them', () => {
    expect(uuidPrefixRange('3fa8')).toEqual(['3fa80000-0000-0000-0000-000000000000', '3fa8ffff-ffff-ffff-ffff-ffffffffffff']);
    expect(uuidPrefixRange('3FA85F64-57')).toEqual(['3fa85f64-5700-0000-0000-000000000000', '3fa85f64-57ff-ffff-ffff-ffffffffffff']);
    expect(uuidPrefixRange('3fa-85')).toBeNull();
    expect(uuidPrefixRange('laptop')).toBeNull();
  });

  it('quotes CSV fields and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@sum')).toBe("'@sum");
  });
});

/** Reads server-sent events from an open response until `done` says enough. */
async function readFeed(response: Response, done: (events: Array<{ id: string; data: Record<string, unknown> }>) => boolean, timeoutMs = 10_000) {
  const reader = response.body?.getReader();
  if (!reader) throw new Error('no body');
  const events: Array<{ id: string; data: Record<string, unknown> }> = [];
  let text = '';
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!done(events)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      text += Buffer.from(value).toString('utf8');
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data && !/^event:/m.test(block)) events.push({ id, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

describe.each(databaseKinds)('the fleet API on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let auth: Record<string, string>;
  const devices: FakeDevice[] = [];
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${server.url}${path}`, { headers: auth });
    const body = (await response.json()) as T;
    if (!response.ok) throw new Error(`${path} → ${response.status}: ${JSON.stringify(body)}`);
    return body;
  };
  const post = (path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });

  beforeAll(async () => {
    database = await testDatabase(kind);
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false, settings: settingsFromEnv({}) }, { log: createLogger('silent') });
    auth = { authorization: `Bearer ${(await readFile(server.adminTokenPath, 'utf8')).trim()}` };
    const token = async (approval: boolean) =>
      ((await (await post('/v1/admin/enrollment-tokens', { group: 'employees', uses: 5, approval, owner: 'Ada Lovelace' })).json()) as { token: string }).token;
    const open = await token(false);
    // A healthy Linux laptop, a Windows laptop with its public firewall off, a Mac awaiting approval.
    for (const [platform, failing] of [['linux', []], ['win32', ['firewall']]] as const) {
      const device = await FakeDevice.create({ platform });
      expect((await device.enroll(server.url, open)).status).toBe(201);
      const { session } = await device.report(server.url, fakePosture({ platform, failing }));
      session.close();
      devices.push(device);
    }
    const pending = await FakeDevice.create({ platform: 'darwin' });
    expect((await pending.enroll(server.url, await token(true))).status).toBe(201);
    devices.push(pending);
    for (const consumer of server.consumers) await consumer.settle();
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await database?.cleanup();
  });

  it('gives the fleet at a glance, its latest point matching the counts of now', async () => {
    const overview = await get<FleetOverview>('/v1/admin/fleet/overview?range=24h');
    expect(overview.devices).toBe(3);
    expect(overview.by_verdict).toEqual({ compliant: 1, noncompliant: 1, pending: 1 });
    expect(overview.pending_approvals).toBe(1);
    expect(overview.failing_checks).toEqual([{ check: 'firewall.enabled', devices: 1 }]);
    expect(overview.os_versions.map((o) => o.platform).sort()).toEqual(['darwin', 'linux', 'win32']);
    expect(overview.os_versions.find((o) => o.platform === 'darwin')?.version).toBeNull();
    expect(overview.os_versions.find((o) => o.platform === 'linux')?.version).toEqual(expect.any(String));
    expect(overview.series.bucket_s).toBe(3600);
    expect(overview.series.points).toHaveLength(24);
    expect(overview.series.points.at(-1)?.by_verdict).toEqual(overview.by_verdict);
    // A day ago nothing was enrolled yet.
    expect(overview.series.points[0]?.by_verdict).toEqual({});
    expect(overview.seq).toBeGreaterThan(0);
  });

  it('searches by hostname prefix, device id prefix and owner, with filters', async () => {
    const [linux, windows] = devices as [FakeDevice, FakeDevice, FakeDevice];
    type Page = { devices: FleetDevice[]; total: number; next: string | null };
    const byHost = await get<Page>(`/v1/admin/fleet/devices?q=${linux.hostname.slice(0, 9).toUpperCase()}`);
    expect(byHost.devices.map((d) => d.device_id)).toEqual([linux.deviceId]);
    const byId = await get<Page>(`/v1/admin/fleet/devices?q=${windows.deviceId.slice(0, 6)}`);
    expect(byId.devices.map((d) => d.device_id)).toContain(windows.deviceId);
    expect((await get<Page>('/v1/admin/fleet/devices?q=ada%20love')).total).toBe(3);
    expect((await get<Page>('/v1/admin/fleet/devices?q=%25')).total).toBe(0);
    const failing = await get<Page>('/v1/admin/fleet/devices?failing=firewall.enabled');
    expect(failing.devices).toEqual([expect.objectContaining({ device_id: windows.deviceId, verdict: 'noncompliant', failing: ['firewall.enabled'], platform: 'win32' })]);
    const version = failing.devices[0]?.os_version ?? '';
    expect((await get<Page>(`/v1/admin/fleet/devices?os_version=${encodeURIComponent(version)}&platform=win32`)).total).toBe(1);
    expect((await get<Page>('/v1/admin/fleet/devices?verdict=compliant,pending')).total).toBe(2);
    expect((await get<Page>('/v1/admin/fleet/devices?status=pending_approval')).devices[0]?.platform).toBe('darwin');
    expect((await get<Page>('/v1/admin/fleet/devices?group=employees&verdict=revoked')).total).toBe(0);
  });

  it('finds devices by a prefix of their change reference, any case, page after page', async () => {
    const [linux, windows] = devices as [FakeDevice, FakeDevice, FakeDevice];
    for (const [device, ref] of [[linux, 'CHG-4711'], [windows, 'CHG-4712']] as const) expect((await post(`/v1/admin/devices/${device.deviceId}/change-ref`, { change_ref: ref })).status).toBe(200);
    type Page = { devices: FleetDevice[]; total: number | null; next: string | null };
    const both = await get<Page>('/v1/admin/fleet/devices?q=chg-471');
    expect(both.total).toBe(2);
    expect(both.devices.map((d) => d.change_ref).sort()).toEqual(['CHG-4711', 'CHG-4712']);
    expect((await get<Page>('/v1/admin/fleet/devices?q=CHG-4711')).devices.map((d) => d.device_id)).toEqual([linux.deviceId]);
    // A prefix only, and LIKE's wildcards are text: neither the middle of a reference nor "_" matches.
    expect((await get<Page>('/v1/admin/fleet/devices?q=4711')).total).toBe(0);
    expect((await get<Page>('/v1/admin/fleet/devices?q=CHG_471')).total).toBe(0);
    expect((await get<Page>('/v1/admin/fleet/devices?q=chg-4711&verdict=noncompliant')).total).toBe(0);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await get(`/v1/admin/fleet/devices?q=chg&sort=hostname&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.devices.map((d) => d.device_id));
      cursor = page.next;
    } while (cursor);
    expect(seen.sort()).toEqual([linux.deviceId, windows.deviceId].sort());
  });

  it('pages through every device once, in order, whatever the sort', async () => {
    for (const [sort, order] of [['hostname', 'asc'], ['hostname', 'desc'], ['score', 'desc'], ['last_seen', 'desc'], ['enrolled', 'asc']] as const) {
      const seen: FleetDevice[] = [];
      let cursor: string | null = null;
      do {
        const page: { devices: FleetDevice[]; total: number | null; next: string | null } = await get(`/v1/admin/fleet/devices?sort=${sort}&order=${order}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.total).toBe(cursor ? null : 3);
        seen.push(...page.devices);
        cursor = page.next;
      } while (cursor);
      expect(new Set(seen.map((d) => d.device_id)).size).toBe(3);
      if (sort === 'hostname') {
        const names = seen.map((d) => d.hostname.toLowerCase());
        expect(names).toEqual([...names].sort((a, b) => (order === 'asc' ? (a < b ? -1 : 1) : a < b ? 1 : -1)));
      }
      if (sort === 'score') expect(seen.map((d) => d.score)).toEqual([...seen.map((d) => d.score)].sort((a, b) => b - a));
    }
    const bad = await fetch(`${server.url}/v1/admin/fleet/devices?cursor=WzEsMl0`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'malformed', detail: expect.stringMatching(/cursor/) });
  });

  it('exports the filtered devices as CSV', async () => {
    const response = await fetch(`${server.url}/v1/admin/fleet/devices.csv?verdict=compliant,noncompliant`, { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toMatch(/attachment; filename="postern-devices-\d{4}-\d{2}-\d{2}\.csv"/);
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('device_id,hostname,owner,platform,os_version,group,status,verdict,score,failing,last_seen_at,verdict_since,enrolled_at,expires_at');
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.startsWith(devices[1]?.deviceId ?? '-'))).toMatch(/,noncompliant,\d+,firewall\.enabled,\d{4}-/);
  });

  it('shows one device with its checks, remediation, timeline and latest attestation', async () => {
    const windows = devices[1] as FakeDevice;
    const detail = await get<FleetDeviceDetail>(`/v1/admin/fleet/devices/${windows.deviceId}`);
    expect(detail.device).toMatchObject({ device_id: windows.deviceId, hostname: windows.hostname, kid: windows.kid, verdict: 'noncompliant', owner: 'Ada Lovelace' });
    const firewall = detail.checks.find((c) => c.id === 'firewall.enabled');
    expect(firewall).toMatchObject({ status: 'fail', remediation: expect.any(String) });
    expect(detail.latest_attestation).toMatchObject({ seq: 1, posture: { os: { platform: 'win32' } } });
    expect(detail.timeline.map((t) => (t.kind === 'event' ? t.event.type : 'report'))).toEqual(expect.arrayContaining(['device.enrolled', 'device.verdict_changed', 'report']));
    expect((await fetch(`${server.url}/v1/admin/fleet/devices/00000000-0000-4000-8000-000000000000`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/admin/fleet/devices/${windows.deviceId}`)).status).toBe(401);
  });

  it('streams changes live, and replays what a reconnecting client missed exactly once', async () => {
    const { seq } = await get<FleetOverview>('/v1/admin/fleet/overview');
    const live = await fetch(`${server.url}/v1/admin/fleet/events?after=${seq}`, { headers: auth });
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const pending = devices[2] as FakeDevice;
    expect((await post(`/v1/admin/devices/${pending.deviceId}/approve`)).status).toBe(200);
    const first = await readFeed(live, (events) => events.some((e) => e.data.type === 'device.approved'));
    expect(first[0]).toMatchObject({ id: String(seq + 1), data: { seq: seq + 1, device_id: pending.deviceId } });

    // While no client listens: a revocation. The reconnect names the last event it saw.
    expect((await post(`/v1/admin/devices/${pending.deviceId}/revoke`)).status).toBe(200);
    const lastSeen = Number(first.at(-1)?.id);
    const again = await fetch(`${server.url}/v1/admin/fleet/events`, { headers: { ...auth, 'last-event-id': String(lastSeen) } });
    const replayed = await readFeed(again, (events) => events.some((e) => e.data.type === 'device.revoked'));
    const ids = replayed.map((e) => Number(e.id));
    expect(ids[0]).toBe(lastSeen + 1);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(replayed.map((e) => e.data.type)).toContain('device.revoked');
    const refused = await fetch(`${server.url}/v1/admin/fleet/events`);
    expect(refused.status).toBe(401);
  });
});

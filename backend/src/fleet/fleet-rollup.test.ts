import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Posture } from '@postern/shared';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { createEnrollmentToken } from '../enrollment/tokens.js';
import type { StreamEvent } from '../events/types.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { ensureFleetRollup, FLEET_ROLLUP, rollupChange } from './fleet-rollup.js';
import { fleetOverview } from './overview.js';
import type { FleetOverview } from './schemas.js';

const event = <T extends StreamEvent['type']>(seq: number, at: number, type: T, data: Extract<StreamEvent, { type: T }>['data']) =>
  ({ seq, at, type, actor: 'postern', device_id: '6a7c0e64-3b55-4d1e-9a51-9f7a3a1c2b10', data }) as StreamEvent;

describe('the rollup of the event stream', () => {
  it('counts an enrollment, its verdicts and its status changes, and nets the moves of each five minutes', () => {
    const enrolled = { hostname: 'h', platform: 'linux', group: 'g', owner: null, expires_at: null, enrollment_token_id: '6a7c0e64-3b55-4d1e-9a51-9f7a3a1c2b11' };
    const change = rollupChange([
      event(1, 600, 'device.enrolled', { ...enrolled, status: 'pending_approval' }),
      event(2, 610, 'device.approved', { from: 'pending_approval', to: 'active' }),
      event(3, 620, 'device.verdict_changed', { from: 'pending', to: 'unknown', score: 0, failing: [], cause: 'admin', policy: 'default@1' }),
      event(4, 900, 'device.verdict_changed', { from: 'unknown', to: 'compliant', score: 100, failing: [], cause: 'report', policy: 'default@1' }),
      // An enrollment that ends by itself keeps its status.
      event(5, 1000, 'device.revoked', { reason: 'expired', from: 'compliant' }),
      event(6, 1000, 'device.verdict_changed', { from: 'compliant', to: 'revoked', score: 0, failing: [], cause: 'time', policy: 'default@1' }),
    ]);
    expect(change.counts).toEqual({ verdict: { pending: 0, unknown: 0, compliant: 0, revoked: 1 }, status: { pending_approval: 0, active: 1 } });
    // Bucket 2 (600–899 s): pending came and went, unknown stayed; bucket 3: unknown → compliant → revoked.
    expect(change.moves.sort((a, b) => a.bucket - b.bucket || a.verdict.localeCompare(b.verdict))).toEqual([
      { bucket: 2, verdict: 'unknown', devices: 1 },
      { bucket: 3, verdict: 'revoked', devices: 1 },
      { bucket: 3, verdict: 'unknown', devices: -1 },
    ]);
  });
});

describe.each(databaseKinds)('the overview’s rollup on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let auth: Record<string, string>;
  let clock = Math.floor(Date.now() / 1000);
  const post = (path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const getOverview = async (): Promise<FleetOverview> => {
    const response = await fetch(`${server.url}/v1/admin/fleet/overview?range=24h`, { headers: auth });
    expect(response.status).toBe(200);
    return (await response.json()) as FleetOverview;
  };
  async function enroll(options: { approval?: boolean; deviceTtlS?: number; posture?: Posture }): Promise<FakeDevice> {
    const { token } = await createEnrollmentToken(server.store.db, { group: 'employees', uses: 1, expiresInS: 3600, deviceTtlS: options.deviceTtlS ?? null, owner: null, approval: options.approval ?? false, actor: 'admin:test' }, clock);
    const device = await FakeDevice.create({ platform: options.posture?.platform ?? 'linux' });
    expect((await device.enroll(server.url, token)).status).toBe(201);
    if (options.posture) (await device.report(server.url, options.posture)).session.close();
    return device;
  }

  /** The same figures counted straight from the tables the writers keep. */
  async function direct() {
    const db = server.store.db;
    const verdicts = await db.selectFrom('device_standing').select(['verdict', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('verdict').execute();
    const statuses = await db.selectFrom('devices').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();
    const failing = new Map<string, number>();
    for (const row of await db.selectFrom('device_standing').select('checks').execute()) {
      for (const check of row.checks as Array<{ id: string; status: string }>) if (check.status === 'fail') failing.set(check.id, (failing.get(check.id) ?? 0) + 1);
    }
    return {
      by_verdict: Object.fromEntries(verdicts.map((r) => [r.verdict, Number(r.n)])),
      by_status: Object.fromEntries(statuses.map((r) => [r.status, Number(r.n)])),
      failing: Object.fromEntries(failing),
    };
  }
  async function expectMatches(overview: FleetOverview) {
    const counted = await direct();
    expect(overview.by_verdict).toEqual(counted.by_verdict);
    expect(overview.by_status).toEqual(counted.by_status);
    expect(overview.devices).toBe(Object.values(counted.by_status).reduce((a, b) => a + b, 0));
    expect(overview.pending_approvals).toBe(counted.by_status.pending_approval ?? 0);
    expect(Object.fromEntries(overview.failing_checks.map((f) => [f.check, f.devices]))).toEqual(counted.failing);
    // Compliance over time ends at the counts of now and starts before the first enrollment.
    expect(overview.series.points.at(-1)?.by_verdict).toEqual(counted.by_verdict);
    expect(overview.series.points[0]?.by_verdict).toEqual({});
  }
  const storedCounts = async () => {
    const rows = await server.store.db.selectFrom('fleet_counts').selectAll().where('devices', '<>', 0).execute();
    const out: Record<string, Record<string, number>> = { verdict: {}, status: {} };
    for (const r of rows) (out[r.dimension] as Record<string, number>)[r.key] = Number(r.devices);
    return out;
  };

  beforeAll(async () => {
    database = await testDatabase(kind);
    server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false },
      { log: createLogger('silent'), now: () => clock },
    );
    auth = { authorization: `Bearer ${(await readFile(server.adminTokenPath, 'utf8')).trim()}` };
  }, 60_000);
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await database?.cleanup();
  });

  it('equals a direct count after reports, approvals, denials, revocations and an enrollment that ends by itself', async () => {
    const revoked = await enroll({ posture: fakePosture({ platform: 'linux', now: clock }) });
    await enroll({ posture: fakePosture({ platform: 'win32', failing: ['firewall'], now: clock }) });
    const approved = await enroll({ approval: true });
    const denied = await enroll({ approval: true });
    await enroll({ deviceTtlS: 120, posture: fakePosture({ platform: 'linux', now: clock }) });
    // Noncompliant, then failing one check more: the verdict stays, no event tells of it.
    const worsening = await enroll({ posture: fakePosture({ platform: 'linux', failing: ['disk_encryption'], now: clock }) });
    (await worsening.report(server.url, fakePosture({ platform: 'linux', failing: ['disk_encryption', 'firewall'], now: clock }))).session.close();
    // Read at once, before the consumer may have run: the events it has not handled are counted too.
    await expectMatches(await fleetOverview(server.store.db, { range: '24h', notReportingS: 3600, endingWithinS: 86400, now: clock }));

    expect((await post(`/v1/admin/devices/${approved.deviceId}/approve`)).status).toBe(200);
    expect((await post(`/v1/admin/devices/${denied.deviceId}/deny`, { reason: 'not ours' })).status).toBe(200);
    expect((await post(`/v1/admin/devices/${revoked.deviceId}/revoke`, { reason: 'lost' })).status).toBe(200);
    clock += 180;
    await server.sweep();
    const overview = await getOverview();
    await expectMatches(overview);
    expect(overview.by_status).toEqual({ active: 4, revoked: 2 });
    expect(overview.by_verdict.revoked).toBe(3);

    // What the consumer stored, once it has caught up, is the same.
    for (const consumer of server.consumers) await consumer.settle();
    const counted = await direct();
    expect(await storedCounts()).toEqual({ verdict: counted.by_verdict, status: counted.by_status });
  });

  it('builds itself from the tables when it has none, and then follows the stream again', async () => {
    await server.store.db.deleteFrom('fleet_rollup').execute();
    await server.store.db.updateTable('fleet_counts').set({ devices: 999 }).execute();
    expect(await ensureFleetRollup(server.store.db, clock)).toMatchObject({ built: true });
    expect(await ensureFleetRollup(server.store.db, clock)).toMatchObject({ built: false });
    const head = await server.store.db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow();
    const position = await server.store.db.selectFrom('event_consumers').select('last_seq').where('name', '=', FLEET_ROLLUP).executeTakeFirstOrThrow();
    expect(Number(position.last_seq)).toBe(Number(head.seq));
    await expectMatches(await fleetOverview(server.store.db, { range: '24h', notReportingS: 3600, endingWithinS: 86400, now: clock }));

    await enroll({ posture: fakePosture({ platform: 'darwin', now: clock }) });
    for (const consumer of server.consumers) await consumer.settle();
    const counted = await direct();
    expect(await storedCounts()).toEqual({ verdict: counted.by_verdict, status: counted.by_status });
    await expectMatches(await fleetOverview(server.store.db, { range: '7d', notReportingS: 3600, endingWithinS: 86400, now: clock }));
  });
});

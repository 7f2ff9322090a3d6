import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Posture } from '@postern/shared';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { healthyLinuxPosture, withPendingSecurity } from '@postern/testkit/postures';
import { verifyAuditChain } from '../audit/verify.js';
import { decide } from '../decisions/decide.js';
import { createEnrollmentToken } from '../enrollment/tokens.js';
import { grantException, revokeException } from '../exceptions/exceptions.js';
import { createLogger } from '../logging/logger.js';
import { applyPolicy } from '../policy-lifecycle/apply.js';
import { startServer, type RunningServer } from '../server.js';
import { previousStandings } from './previous-standings.js';

/** Contractors: patches block after a minute of grace, reports stay fresh for a day, so each time-driven change can be seen alone. */
const CONTRACTORS = `postern_policy: 1
group: contractors
checks:
  - id: report.max_age
    severity: high
    weight: 10
    enforcement: block
    params: { max_age: 1d }
  - id: patches.max_pending_security
    severity: high
    weight: 20
    enforcement: warn_then_block
    grace: 60s
  - id: firewall.enabled
    severity: high
    weight: 20
    enforcement: block
`;

describe.each(databaseKinds)('time-driven changes on %s', (kind) => {
  let database: TestDatabase | undefined;
  const servers: RunningServer[] = [];
  let clock = Math.floor(Date.now() / 1000);

  async function start(): Promise<RunningServer> {
    database ??= await testDatabase(kind);
    const server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir + (servers.length ? `-replica${servers.length}` : ''), databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false },
      { log: createLogger('silent'), now: () => clock },
    );
    servers.push(server);
    // Fake devices sign with the real clock: start the server's there too.
    clock = Math.floor(Date.now() / 1000);
    return server;
  }
  /** The moment a device's newest report becomes too old for the default policy (report.max_age 15 minutes). */
  const staleAt = async (server: RunningServer, deviceId: string) => {
    const row = await server.store.db.selectFrom('device_posture').select('attested_at').where('device_id', '=', deviceId).executeTakeFirstOrThrow();
    return Math.floor(row.attested_at.getTime() / 1000) + 15 * 60 + 1;
  };
  afterEach(async () => {
    for (const s of servers.splice(0).reverse()) await s.close();
    await database?.cleanup();
    database = undefined;
    clock = Math.floor(Date.now() / 1000);
  });

  async function enrolled(server: RunningServer, posture: Posture, token: { group?: string; deviceTtlS?: number | null } = {}) {
    const { token: secret } = await createEnrollmentToken(
      server.store.db,
      { group: token.group ?? 'contractors', uses: 1, expiresInS: 3600, deviceTtlS: token.deviceTtlS ?? null, owner: null, approval: false, actor: 'admin:test' },
      clock,
    );
    const device = await FakeDevice.create();
    expect((await device.enroll(server.url, secret)).status).toBe(201);
    const { session, answer } = await device.report(server.url, posture);
    expect(answer.type).toBe('result');
    return { device, session, answer };
  }

  const eventsOf = (server: RunningServer, deviceId: string) =>
    server.store.db.selectFrom('events').select(['seq', 'type', 'actor', 'data']).where('device_id', '=', deviceId).orderBy('seq').execute();

  /** Waits, on the real clock, until the device has an event matching `match`; returns the seconds it took. */
  async function waitForEvent(server: RunningServer, deviceId: string, match: (e: { type: string; data: Record<string, unknown> }) => boolean, limitS = 8): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < limitS * 1000) {
      if ((await eventsOf(server, deviceId)).some(match)) return (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no matching event for device ${deviceId} within ${limitS} s: ${JSON.stringify(await eventsOf(server, deviceId))} ${JSON.stringify(await server.store.db.selectFrom('device_standing').selectAll().where('device_id', '=', deviceId).execute())}`);
  }

  const changedTo = (to: string, cause: string) => (e: { type: string; data: Record<string, unknown> }) => e.type === 'device.verdict_changed' && e.data.to === to && e.data.cause === cause;

  it('turns a device whose newest report is too old unknown within 5 s of that moment, once, and asks its agent to report', async () => {
    const server = await start();
    const { device, session } = await enrolled(server, healthyLinuxPosture(clock), { group: 'employees' });
    expect((await decide(server.store.db, device.deviceId))?.verdict).toBe('compliant');

    clock = await staleAt(server, device.deviceId);
    const tookS = await waitForEvent(server, device.deviceId, changedTo('unknown', 'time'));
    expect(tookS).toBeLessThan(5);
    expect(await session.next(5000)).toEqual({ type: 'collect' });
    const decision = await decide(server.store.db, device.deviceId);
    expect(decision?.verdict).toBe('unknown');

    await new Promise((r) => setTimeout(r, 2500)); // more sweeps: nothing is recorded twice
    const changes = (await eventsOf(server, device.deviceId)).filter((e) => e.type === 'device.verdict_changed');
    expect(changes.map((e) => [e.data.from, e.data.to, e.data.cause])).toEqual([['unknown', 'compliant', 'report'], ['compliant', 'unknown', 'time']]);
    // The compliance API says what was emitted.
    const audit = await server.store.db.selectFrom('audit_log').select('kind').where('device_id', '=', device.deviceId).where('kind', '=', 'device.verdict_changed').execute();
    expect(audit).toHaveLength(2);
    // Metrics follow the events: the fleet by verdict, events by type, and how far behind each consumer is.
    await Promise.all(server.consumers.map((c) => c.settle()));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('postern_devices{verdict="unknown",group="employees",platform="linux"} 1');
    expect(metrics).toMatch(/postern_events_total\{type="device.verdict_changed"\} 2\b/);
    expect(metrics).toContain('postern_event_consumer_lag_events{consumer="stream-fan-out"} 0');
    session.close();
  });

  it('turns a grace period that ends into noncompliant on its own', async () => {
    const server = await start();
    await applyPolicy(server.backend, { source: CONTRACTORS, file: 'c.yaml', author: 'sec', message: 'short grace', actor: 'admin:test' });
    const { device, answer, session } = await enrolled(server, withPendingSecurity(healthyLinuxPosture(clock), 2));
    expect(answer).toMatchObject({ verdict: 'grace' });

    clock += 61;
    expect(await waitForEvent(server, device.deviceId, changedTo('noncompliant', 'time'))).toBeLessThan(5);
    expect(await decide(server.store.db, device.deviceId)).toMatchObject({ verdict: 'noncompliant', policy: 'contractors@1' });
    const change = (await eventsOf(server, device.deviceId)).find((e) => e.type === 'device.verdict_changed' && e.data.cause === 'time');
    expect(change?.data).toMatchObject({ from: 'grace', to: 'noncompliant', failing: ['patches.max_pending_security'], policy: 'contractors@1' });
    session.close();
  });

  it('records an exception that ends, and the verdict it changes, exactly once', async () => {
    const server = await start();
    await applyPolicy(server.backend, { source: CONTRACTORS, file: 'c.yaml', author: 'sec', message: 'short grace', actor: 'admin:test' });
    const offline: Posture = { ...healthyLinuxPosture(clock), firewall: { status: 'ok', collected_at: clock, enabled: false, backend: 'nftables', profiles: [] } };
    const { device, answer, session } = await enrolled(server, offline);
    expect(answer).toMatchObject({ verdict: 'noncompliant' });
    const exception = await grantException(server.backend, { deviceId: device.deviceId, check: 'firewall.enabled', until: clock + 30, reason: 'INC-7 firewall migration', actor: 'admin:alice' });
    expect((await decide(server.store.db, device.deviceId))?.verdict).toBe('compliant');
    expect(await session.next(5000)).toEqual({ type: 'collect' });

    clock += 31;
    expect(await waitForEvent(server, device.deviceId, changedTo('noncompliant', 'exception'))).toBeLessThan(5);
    await new Promise((r) => setTimeout(r, 1500));
    const trail = (await eventsOf(server, device.deviceId)).map((e) => [e.type, e.data.cause ?? e.data.reason ?? null]);
    expect(trail).toEqual([
      ['device.enrolled', null],
      ['device.verdict_changed', 'report'],
      ['exception.granted', 'INC-7 firewall migration'],
      ['device.verdict_changed', 'exception'],
      ['exception.ended', 'expired'],
      ['device.verdict_changed', 'exception'],
    ]);
    const ended = (await eventsOf(server, device.deviceId)).find((e) => e.type === 'exception.ended');
    expect(ended?.data).toMatchObject({ exception_id: exception.id, check: 'firewall.enabled', until: clock - 1 });
    expect((await verifyAuditChain(server.store.db)).ok).toBe(true);
    session.close();
  });

  it('judges a report by the exceptions running when it is stored: a revoked one waives nothing, a running one waives its check', async () => {
    const server = await start();
    const offline: Posture = { ...healthyLinuxPosture(clock), firewall: { status: 'ok', collected_at: clock, enabled: false, backend: 'nftables', profiles: [] } };
    const { device, answer, session } = await enrolled(server, offline);
    expect(answer).toMatchObject({ verdict: 'noncompliant' });
    const revoked = await grantException(server.backend, { deviceId: device.deviceId, check: 'firewall.enabled', until: clock + 600, reason: 'INC-8 revoked at once', actor: 'admin:alice' });
    await revokeException(server.backend, { id: revoked.id, actor: 'admin:alice' });
    const previous = await server.store.db.transaction().execute((trx) => previousStandings(trx, [device.deviceId, randomUUID()], clock));
    expect([...previous.keys()]).toEqual([device.deviceId]);
    expect(previous.get(device.deviceId)).toMatchObject({ standing: { verdict: 'noncompliant' }, exceptions: [] });
    expect(previous.get(device.deviceId)?.standing?.checks.find((c) => c.id === 'firewall.enabled')).toMatchObject({ status: 'fail' });
    // Each grant and revocation asks the agent to report (collect): the answer is the first other frame.
    const answerTo = async () => {
      let frame = await session.attest(await device.evidence(session.nonce, { posture: offline }));
      while (frame.type === 'collect') frame = await session.next();
      return frame;
    };
    expect(await answerTo()).toMatchObject({ type: 'result', verdict: 'noncompliant' });

    const running = await grantException(server.backend, { deviceId: device.deviceId, check: 'firewall.enabled', until: clock + 600, reason: 'INC-9 firewall migration', actor: 'admin:alice' });
    const [exception] = (await server.store.db.transaction().execute((trx) => previousStandings(trx, [device.deviceId], clock))).get(device.deviceId)?.exceptions ?? [];
    expect(exception).toEqual({ id: running.id, check_id: 'firewall.enabled', until: clock + 600, reason: 'INC-9 firewall migration', granted_by: 'admin:alice' });
    expect(await answerTo()).toMatchObject({ type: 'result', verdict: 'compliant' });
    session.close();
  });

  it('revokes a device whose enrollment ends, closes its stream with 4403 and refuses its next report', async () => {
    const server = await start();
    const { device, session } = await enrolled(server, healthyLinuxPosture(clock), { group: 'employees', deviceTtlS: 120 });
    clock += 121;
    expect(await waitForEvent(server, device.deviceId, (e) => e.type === 'device.revoked' && e.data.reason === 'expired')).toBeLessThan(5);
    expect(await session.next(5000)).toMatchObject({ type: 'error', code: 'revoked' });
    expect((await session.closed).code).toBe(4403);
    expect(await decide(server.store.db, device.deviceId)).toMatchObject({ verdict: 'revoked', expires_at: null });
    const again = await device.connect(server.url);
    expect(await again.attest(await device.evidence(again.nonce, { iat: clock }))).toMatchObject({ type: 'error', code: 'revoked' });
    expect((await eventsOf(server, device.deviceId)).filter((e) => e.type === 'device.revoked')).toHaveLength(1);
  });

  it.runIf(kind === 'postgresql')('records each time-driven change once while two replicas sweep the same fleet', async () => {
    const a = await start();
    const b = await start();
    const devices = [];
    for (let i = 0; i < 6; i++) devices.push((await enrolled(i % 2 ? a : b, healthyLinuxPosture(clock), { group: 'employees', deviceTtlS: i < 3 ? 120 : null })).device);
    clock = Math.max(...(await Promise.all(devices.map((d) => staleAt(a, d.deviceId)))));
    for (const d of devices) await waitForEvent(a, d.deviceId, (e) => e.type === 'device.verdict_changed' && e.data.cause === 'time');
    await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
    for (const [i, d] of devices.entries()) {
      const changes = (await eventsOf(a, d.deviceId)).filter((e) => e.type === 'device.verdict_changed' || e.type === 'device.revoked');
      expect(changes.map((e) => [e.type, e.data.to ?? e.data.reason])).toEqual(
        i < 3
          ? [['device.verdict_changed', 'compliant'], ['device.revoked', 'expired'], ['device.verdict_changed', 'revoked']]
          : [['device.verdict_changed', 'compliant'], ['device.verdict_changed', 'unknown']],
      );
    }
    const seqs = (await a.store.db.selectFrom('events').select('seq').orderBy('seq').execute()).map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // gap-free
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { evidenceClaims, type EvidenceClaims } from '@postern/shared';
import { decodeJwt } from 'jose';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { healthyLinuxPosture, unencryptedLinuxPosture } from '@postern/testkit/postures';
import { verifyAuditChain } from '../audit/verify.js';
import { createEnrollmentToken } from '../enrollment/tokens.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { AttestationError } from './attestation-error.js';
import { applyPolicy } from '../policy-lifecycle/apply.js';
import { ingestBatch } from './ingest.js';

describe.each(databaseKinds)('batched ingest on %s', (kind) => {
  let database: TestDatabase | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    await database?.cleanup();
    server = database = undefined;
  });

  async function enrolled(count: number, policy?: string): Promise<{ server: RunningServer; devices: FakeDevice[] }> {
    database = await testDatabase(kind);
    server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false },
      { log: createLogger('silent') },
    );
    if (policy) await applyPolicy(server.backend, { source: policy, file: 'employees.yaml', author: 'sec-eng', message: 'report often', actor: 'admin:test' });
    if (count === 0) return { server, devices: [] };
    const { token } = await createEnrollmentToken(server.store.db, { group: 'employees', uses: count, expiresInS: 600, deviceTtlS: null, owner: null, approval: false, actor: 'test' }, Math.floor(Date.now() / 1000));
    const devices = await Promise.all(Array.from({ length: count }, () => FakeDevice.create()));
    for (const device of devices) expect((await device.enroll(server.url, token)).status).toBe(201);
    return { server, devices };
  }

  const claimsOf = async (device: FakeDevice, o: { seq?: number; posture?: ReturnType<typeof healthyLinuxPosture> } = {}): Promise<EvidenceClaims> =>
    evidenceClaims.parse(decodeJwt(await device.evidence('n'.repeat(43), o)));

  it('answers forty devices reporting at the same moment, each with its own verdict, and chains an audit entry for each', async () => {
    const { server, devices } = await enrolled(40);
    const sessions = await Promise.all(devices.map((d) => d.connect(server.url)));
    const answers = await Promise.all(
      sessions.map(async (session, i) => {
        const device = devices[i] as FakeDevice;
        return session.attest(await device.evidence(session.nonce, { posture: i % 4 === 0 ? unencryptedLinuxPosture() : healthyLinuxPosture() }));
      }),
    );
    for (const s of sessions) s.ws.close();
    answers.forEach((answer, i) => {
      expect(answer.type).toBe('result');
      if (answer.type === 'result') expect(answer.verdict).toBe(i % 4 === 0 ? 'noncompliant' : 'compliant');
    });
    const db = server.store.db;
    expect(await db.selectFrom('attestations').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 40 });
    expect(await db.selectFrom('device_posture').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 40 });
    const changes = await db.selectFrom('audit_log').select('device_id').where('kind', '=', 'device.verdict_changed').execute();
    expect(new Set(changes.map((c) => c.device_id))).toEqual(new Set(devices.map((d) => d.deviceId)));
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it('takes the higher seq when two reports of one device share a batch, and refuses the other as replayed', async () => {
    const { server, devices } = await enrolled(2);
    const [a, b] = devices as [FakeDevice, FakeDevice];
    const rows = await server.store.db.selectFrom('devices').selectAll().orderBy('enrolled_at').execute();
    const deviceA = rows.find((r) => r.id === a.deviceId);
    const deviceB = rows.find((r) => r.id === b.deviceId);
    if (!deviceA || !deviceB) throw new Error('enrolled devices are missing');
    const now = Math.floor(Date.now() / 1000);
    const outcomes = await ingestBatch(server.backend, [
      { device: deviceA, claims: await claimsOf(a, { seq: 3 }), now },
      { device: deviceB, claims: await claimsOf(b, { seq: 1 }), now },
      { device: deviceA, claims: await claimsOf(a, { seq: 5 }), now },
    ]);
    expect(outcomes[0]).toMatchObject({ ok: false, error: { code: 'replayed_seq' } });
    expect(outcomes[1]).toMatchObject({ ok: true, value: { seq: 1, verdict: 'compliant' } });
    expect(outcomes[2]).toMatchObject({ ok: true, value: { seq: 5, verdict: 'compliant' } });
    const stored = await server.store.db.selectFrom('devices').select('last_seq').where('id', '=', a.deviceId).executeTakeFirstOrThrow();
    expect(stored.last_seq).toBe(5);
  });

  it('refuses a device revoked before its batch commits while the rest of the batch is stored', async () => {
    const { server, devices } = await enrolled(2);
    const [a, b] = devices as [FakeDevice, FakeDevice];
    const rows = await server.store.db.selectFrom('devices').selectAll().execute();
    const now = Math.floor(Date.now() / 1000);
    // The rows were read before the revocation, as a verified attestation's are.
    await server.store.db.updateTable('devices').set({ status: 'revoked' }).where('id', '=', a.deviceId).execute();
    const outcomes = await ingestBatch(
      server.backend,
      await Promise.all([a, b].map(async (d) => ({ device: rows.find((r) => r.id === d.deviceId) as (typeof rows)[number], claims: await claimsOf(d), now }))),
    );
    expect(outcomes[0]?.ok).toBe(false);
    expect(outcomes[0]?.ok === false && outcomes[0].error).toBeInstanceOf(AttestationError);
    expect(outcomes[0]).toMatchObject({ error: { code: 'revoked' } });
    expect(outcomes[1]).toMatchObject({ ok: true });
    const postures = await server.store.db.selectFrom('device_posture').select('device_id').execute();
    expect(postures.map((p) => p.device_id)).toEqual([b.deviceId]);
  });

  it('stores the rest of a batch when some of its reports hold text the database refuses, and refuses only those', async () => {
    const { server, devices } = await enrolled(20);
    const rows = await server.store.db.selectFrom('devices').selectAll().execute();
    const now = Math.floor(Date.now() / 1000);
    const poisoned = new Set([2, 9, 15]);
    const items = await Promise.all(
      devices.map(async (d, i) => {
        const claims = await claimsOf(d);
        // As if a schema had let it through: the database is the last line, and it must hold for the others.
        if (poisoned.has(i) && claims.posture.os.status === 'ok') claims.posture.os.name = 'Debian\u0000GNU/Linux';
        return { device: rows.find((r) => r.id === d.deviceId) as (typeof rows)[number], claims, now };
      }),
    );
    const outcomes = await ingestBatch(server.backend, items);
    outcomes.forEach((outcome, i) => {
      if (poisoned.has(i)) expect(outcome).toMatchObject({ ok: false, error: { code: 'schema', message: expect.stringMatching(/cannot store/) } });
      else expect(outcome).toMatchObject({ ok: true, value: { verdict: 'compliant' } });
    });
    expect((await server.store.db.selectFrom('device_posture').select('device_id').execute()).length).toBe(17);
    expect((await verifyAuditChain(server.store.db)).ok).toBe(true);
  });

  it('refuses reports with a NUL or an unpaired surrogate at the schema edge, while the other devices streaming beside them are all answered', async () => {
    const { server, devices } = await enrolled(24);
    const sessions = await Promise.all(devices.map((d) => d.connect(server.url)));
    const bad = (i: number) => i % 6 === 0;
    const answers = await Promise.all(
      sessions.flatMap((session, i) => {
        const device = devices[i] as FakeDevice;
        const healthy = healthyLinuxPosture();
        const posture = !bad(i) ? healthy : i % 12 === 0 ? { ...healthy, os: { ...healthy.os, name: 'Debian\u0000' } } : { ...healthy, os: { ...healthy.os, kernel: '6.1\uD800' } };
        return [device.evidence(session.nonce, { posture }).then((token) => session.attest(token))];
      }),
    );
    for (const s of sessions) s.ws.close();
    answers.forEach((answer, i) => {
      if (bad(i)) expect(answer).toMatchObject({ type: 'error', code: 'schema', message: expect.stringMatching(/NUL character or an unpaired UTF-16 surrogate/) });
      else expect(answer).toMatchObject({ type: 'result', verdict: 'compliant' });
    });
    expect((await server.store.db.selectFrom('device_posture').select('device_id').execute()).length).toBe(20);
  });

  it('keeps concurrent batches of the same devices consistent: each report stored, or refused as replayed', async () => {
    const { server, devices } = await enrolled(2);
    const [a, b] = devices as [FakeDevice, FakeDevice];
    const rows = await server.store.db.selectFrom('devices').selectAll().execute();
    const rowOf = (d: FakeDevice) => rows.find((r) => r.id === d.deviceId) as (typeof rows)[number];
    const now = Math.floor(Date.now() / 1000);
    for (let round = 1; round <= 10; round++) {
      const [first, second] = await Promise.all([
        ingestBatch(server.backend, [
          { device: rowOf(a), claims: await claimsOf(a, { seq: 2 * round }), now },
          { device: rowOf(b), claims: await claimsOf(b, { seq: 2 * round }), now },
        ]),
        ingestBatch(server.backend, [
          { device: rowOf(b), claims: await claimsOf(b, { seq: 2 * round + 1 }), now },
          { device: rowOf(a), claims: await claimsOf(a, { seq: 2 * round + 1 }), now },
        ]),
      ]);
      // Either order of the two batches is a valid history; a failed batch is not.
      for (const outcome of [...first, ...second]) expect(outcome.ok || (outcome.error as AttestationError).code === 'replayed_seq').toBe(true);
      expect(second.every((o) => o.ok)).toBe(true);
    }
    const stored = await server.store.db.selectFrom('devices').select('last_seq').execute();
    expect(stored.map((r) => r.last_seq)).toEqual([21, 21]);
  });

  it("tells a device its group's report interval when it enrolls and on its stream", async () => {
    const source = 'postern_policy: 1\ngroup: employees\nreport_interval: 1m\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 10\n    enforcement: block\n';
    const { server } = await enrolled(0, source);
    const device = await FakeDevice.create();
    const { token } = await createEnrollmentToken(server.store.db, { group: 'employees', uses: 1, expiresInS: 600, deviceTtlS: null, owner: null, approval: false, actor: 'test' }, Math.floor(Date.now() / 1000));
    const enrollment = await device.enroll(server.url, token);
    expect(enrollment.body.report_interval_s).toBe(60);
    const { session, answer } = await device.report(server.url);
    expect(answer.type).toBe('result');
    await expect.poll(() => session.reportIntervalS).toBe(60);
    session.ws.close();
  });
});

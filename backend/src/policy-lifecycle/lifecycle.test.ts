import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Posture } from '@postern/shared';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { healthyLinuxPosture, withPendingSecurity, withScreenLock } from '@postern/testkit/postures';
import { appendAudit } from '../audit/append.js';
import { entryHash } from '../store/audit-chain.js';
import { verifyAuditChain } from '../audit/verify.js';
import { decide } from '../decisions/decide.js';
import { setDeviceGroup } from '../devices/set-group.js';
import { changeDeviceStatus } from '../devices/status.js';
import { grantException } from '../exceptions/exceptions.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { applyPolicy, previewPolicy, rollbackPolicy } from './apply.js';
import { PolicyInvalid } from '../policy/document.js';
import { defaultPolicy } from '../policy/default-policy.js';
import { judge } from '../standing/judge.js';
import { recordStandings } from '../standing/record.js';
import { reevaluate } from '../standing/reevaluate.js';
import { listPolicyVersions } from './versions.js';

const STRICT = `postern_policy: 1
group: contractors
checks:
  - id: patches.max_pending_security
    severity: high
    weight: 20
    enforcement: block
  - id: firewall.enabled
    severity: high
    weight: 20
    enforcement: block
`;
const LENIENT = STRICT.replace('enforcement: block', 'enforcement: notify');

describe.each(databaseKinds)('policies, exceptions and the audit trail on %s', (kind) => {
  let database: TestDatabase | undefined;
  const servers: RunningServer[] = [];
  let clock = Math.floor(Date.now() / 1000);

  async function start(db?: TestDatabase): Promise<RunningServer> {
    database ??= db ?? (await testDatabase(kind));
    const server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir + (servers.length ? `-replica${servers.length}` : ''), databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false },
      { log: createLogger('silent'), now: () => clock },
    );
    servers.push(server);
    return server;
  }
  afterEach(async () => {
    for (const s of servers.splice(0).reverse()) await s.close();
    await database?.cleanup();
    database = undefined;
    clock = Math.floor(Date.now() / 1000);
  });

  /** Devices written straight into the store (no network), judged by the default policy. */
  async function seed(server: RunningServer, group: string, posture: Posture, count = 1): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const judgement = judge({ policy: defaultPolicy, device: { status: 'active', expires_at: null, platform: 'linux', agentVersion: '0.1.0' }, latest: { posture, attestedAt: clock }, previous: [], exceptions: [], now: clock });
      const device = await server.store.db
        .insertInto('devices')
        .values({ kid: randomUUID(), public_jwk: '{}', ueid: 'u', machine_id: 'm', hostname: `seed-${i}`, platform: 'linux', agent_version: '0.1.0', group_name: group, status: 'active' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await server.store.db.transaction().execute((trx) =>
        recordStandings(trx, [{ deviceId: device.id, previous: null, judgement, cause: 'report', actor: 'test', report: { seq: 1, attestedAt: clock, receivedAt: clock, posture } }], clock),
      );
      ids.push(device.id);
    }
    return ids;
  }

  const apply = (server: RunningServer, source: string, message = 'change') =>
    applyPolicy(server.backend, { source, file: 'p.yaml', author: 'sec-eng', message, actor: 'admin:test' });

  it('numbers versions per group, keeps them immutable, and rolls back by applying an old document again', async () => {
    const server = await start();
    expect((await apply(server, STRICT)).policy).toBe('contractors@1');
    expect(await apply(server, LENIENT)).toMatchObject({ policy: 'contractors@2', previous: 'contractors@1' });
    expect(await apply(server, STRICT.replace('contractors', 'servers'))).toMatchObject({ policy: 'servers@1', previous: null });
    await expect(sql`update policy_versions set message = 'rewritten'`.execute(server.store.db)).rejects.toThrow(/immutable/);
    await expect(sql`delete from policy_versions`.execute(server.store.db)).rejects.toThrow(/immutable/);

    const rolled = await rollbackPolicy(server.backend, { group: 'contractors', version: 1, author: 'sec-eng', message: 'too lenient', actor: 'admin:test' });
    expect(rolled).toMatchObject({ policy: 'contractors@3', previous: 'contractors@2' });
    const versions = await listPolicyVersions(server.store.db, 'contractors');
    expect(versions.map((v) => [v.version, v.active])).toEqual([[3, true], [2, false], [1, false]]);
    expect(versions[0]?.source_sha256).toBe(versions[2]?.source_sha256);
    expect(server.backend.policies.forGroup('contractors')).toMatchObject({ id: 'contractors', version: 3 });
    expect(server.backend.policies.forGroup('employees')).toMatchObject({ id: 'default', version: 1 });
    const applied = await server.store.db.selectFrom('audit_log').select('detail').where('kind', '=', 'policy.applied').orderBy('id').execute();
    expect(applied.map((a) => a.detail.policy)).toEqual(['default@1', 'contractors@1', 'contractors@2', 'servers@1', 'contractors@3']);
    expect(applied.at(-1)?.detail).toMatchObject({ rolled_back_from: 1, author: 'sec-eng', message: 'too lenient' });
  });

  it('refuses to roll back to a stored version this server no longer accepts, with file, line and path', async () => {
    const server = await start();
    await apply(server, STRICT);
    // A version stored by an older server whose catalog accepted any text as a macOS version.
    const source = STRICT.replace('checks:\n', 'checks:\n  - id: os.min_version\n    severity: high\n    weight: 10\n    enforcement: block\n    params:\n      darwin: Sonoma\n');
    await server.store.db
      .insertInto('policy_versions')
      .values({ group_name: 'contractors', version: 2, document: JSON.stringify({ postern_policy: 1 }), source, format: 'yaml', source_sha256: 'x'.repeat(64), author: 'old-server', message: 'written before 0.2' })
      .execute();

    const refused = rollbackPolicy(server.backend, { group: 'contractors', version: 2, author: 'sec-eng', message: 'back', actor: 'admin:test' });
    await expect(refused).rejects.toBeInstanceOf(PolicyInvalid);
    await expect(refused).rejects.toMatchObject({ problems: [expect.objectContaining({ file: 'contractors@2.yaml', line: 9, path: 'checks[0].params.darwin', message: expect.stringMatching(/not "Sonoma"/) })] });
    expect((await listPolicyVersions(server.store.db, 'contractors')).map((v) => [v.version, v.active])).toEqual([[2, false], [1, true]]);
    expect(server.backend.policies.forGroup('contractors')).toMatchObject({ version: 1 });
  });

  it('fails the apply when this replica cannot reload its policies, instead of only logging it', async () => {
    const server = await start();
    vi.spyOn(server.backend.policies, 'reload').mockRejectedValueOnce(new Error('policy cache reload failed'));
    await expect(apply(server, STRICT)).rejects.toThrow(/policy cache reload failed/);
    // The version was stored all the same; the next activation loads it with the rest.
    expect(await apply(server, LENIENT)).toMatchObject({ policy: 'contractors@2' });
    expect(server.backend.policies.forGroup('contractors')).toMatchObject({ version: 2 });
  });

  it('re-evaluates every device the policy judges at once, in batches, keeping when failures started', async () => {
    const server = await start();
    const behind = await seed(server, 'contractors', withPendingSecurity(healthyLinuxPosture(clock), 3), 12);
    const fine = await seed(server, 'contractors', healthyLinuxPosture(clock), 5);
    const employees = await seed(server, 'employees', withPendingSecurity(healthyLinuxPosture(clock), 3), 4);
    const before = await server.store.db.selectFrom('device_standing').select(['checks']).where('device_id', '=', behind[0]!).executeTakeFirstOrThrow();
    const failingSince = (before.checks as Array<{ id: string; failing_since: number | null }>).find((c) => c.id === 'patches.max_pending_security')?.failing_since;

    const preview = await previewPolicy(server.backend, { source: STRICT, file: 'p.yaml' });
    expect(preview).toMatchObject({ policy_to: 'contractors@1', policy_from: ['default@1'], devices: 17, changed: 12, transitions: { 'grace→noncompliant': 12 } });
    expect(await server.store.db.selectFrom('device_standing').select('policy_id').where('policy_id', '!=', 'default@1').execute()).toEqual([]);

    clock += 60;
    const result = await apply(server, STRICT, 'no grace for contractors');
    expect(result.reevaluation).toMatchObject({ devices: 17, changed: 12, transitions: { 'grace→noncompliant': 12 } });
    for (const id of behind) expect(await decide(server.store.db, id)).toMatchObject({ verdict: 'noncompliant', policy: 'contractors@1' });
    for (const id of fine) expect(await decide(server.store.db, id)).toMatchObject({ verdict: 'compliant', policy: 'contractors@1' });
    for (const id of employees) expect(await decide(server.store.db, id)).toMatchObject({ verdict: 'grace', policy: 'default@1' });
    const after = await decide(server.store.db, behind[0]!);
    expect(after?.checks.find((c) => c.id === 'patches.max_pending_security')?.failing_since).toBe(failingSince);
    const changes = await server.store.db.selectFrom('audit_log').select(['device_id', 'detail']).where('kind', '=', 'device.verdict_changed').execute();
    expect(changes).toHaveLength(12);
    expect(changes[0]?.detail).toMatchObject({ from: 'grace', to: 'noncompliant', policy: 'contractors@1', reason: 'policy contractors@1 applied' });

    // Small batches give the same answer; nothing changes twice.
    const again = await reevaluate(server.backend, { slot: 'contractors', ownGroups: ['contractors'] }, { cause: 'policy', actor: 'admin:test', reason: 'again' }, { pageSize: 4 });
    expect(again).toMatchObject({ devices: 17, changed: 0 });

    // Moving a device to another group judges it by that group's policy at once, audited.
    await setDeviceGroup(server.backend, { deviceId: employees[0]!, group: 'contractors', actor: 'admin:test' });
    expect(await decide(server.store.db, employees[0]!)).toMatchObject({ verdict: 'noncompliant', policy: 'contractors@1', group: 'contractors' });
    const moved = await server.store.db.selectFrom('audit_log').select(['kind', 'detail']).where('device_id', '=', employees[0]!).orderBy('id').execute();
    expect(moved.map((m) => m.kind)).toEqual(['device.group_changed', 'device.verdict_changed']);
    expect((await verifyAuditChain(server.store.db)).ok).toBe(true);
  });

  it('waives a check with an exception, and stops waiving it at its end on its own', async () => {
    const server = await start();
    await apply(server, STRICT);
    const [id] = await seed(server, 'contractors', withPendingSecurity(healthyLinuxPosture(clock), 1));
    await reevaluate(server.backend, { deviceIds: [id!] }, { cause: 'policy', actor: 'admin:test', reason: 'seeded' });
    expect((await decide(server.store.db, id!))?.verdict).toBe('noncompliant');

    const exception = await grantException(server.backend, { deviceId: id!, check: 'patches.max_pending_security', until: clock + 120, reason: 'patch window tonight', actor: 'admin:test' });
    const waived = await decide(server.store.db, id!);
    expect(waived?.verdict).toBe('compliant');
    expect(waived?.checks.find((c) => c.id === 'patches.max_pending_security')).toMatchObject({ status: 'fail', exception: { id: exception.id, until: clock + 120, reason: 'patch window tonight' } });
    expect(await server.sweep()).toBe(0);

    clock += 121;
    // The due-time sweep turns the end into an event (every second on its own; here at once).
    expect(await server.sweep()).toBe(1);
    expect((await decide(server.store.db, id!))?.verdict).toBe('noncompliant');
    expect(await server.sweep()).toBe(0);
    const trail = await server.store.db.selectFrom('audit_log').select(['kind', 'detail']).where('device_id', '=', id!).orderBy('id').execute();
    expect(trail.map((t) => [t.kind, t.detail.to ?? null])).toEqual([
      ['device.verdict_changed', 'noncompliant'],
      ['exception.granted', null],
      ['device.verdict_changed', 'compliant'],
      ['exception.ended', null],
      ['device.verdict_changed', 'noncompliant'],
    ]);
    await expect(grantException(server.backend, { deviceId: id!, check: 'no.such_check', until: clock + 60, reason: 'x', actor: 'admin:test' })).rejects.toThrow(/unknown check/);
    await expect(grantException(server.backend, { deviceId: id!, check: 'firewall.enabled', until: clock - 1, reason: 'x', actor: 'admin:test' })).rejects.toThrow(/future/);
  });

  it('names the first audit entry that was altered, rewritten or removed', async () => {
    const server = await start();
    for (let i = 0; i < 5; i++) await appendAudit(server.store.db, { actor: 'admin:test', kind: 'device.approved', detail: { n: i } });
    const rows = await server.store.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    const target = rows[3]!;
    expect(await verifyAuditChain(server.store.db)).toMatchObject({ ok: true, entries: rows.length, head: { id: rows.at(-1)!.id } });

    await server.store.db.updateTable('audit_log').set({ detail: JSON.stringify({ n: 99 }) }).where('id', '=', target.id).execute();
    expect(await verifyAuditChain(server.store.db)).toMatchObject({ ok: false, entry_id: target.id, problem: 'altered' });

    const rehashed = entryHash({ ...target, detail: { n: 99 } });
    await server.store.db.updateTable('audit_log').set({ hash: rehashed }).where('id', '=', target.id).execute();
    expect(await verifyAuditChain(server.store.db)).toMatchObject({ ok: false, entry_id: target.id, problem: 'relinked' });

    await server.store.db.updateTable('audit_log').set({ detail: JSON.stringify(target.detail), hash: target.hash }).where('id', '=', target.id).execute();
    expect((await verifyAuditChain(server.store.db)).ok).toBe(true);
    await server.store.db.deleteFrom('audit_log').where('id', '=', target.id).execute();
    expect(await verifyAuditChain(server.store.db, 2)).toMatchObject({ ok: false, entry_id: target.id, problem: 'removed' });
  });

  it('keeps one unforked chain when many transactions append at once', async () => {
    const server = await start();
    await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(server.store.db, { actor: 'admin:test', kind: 'device.approved', detail: { i } })));
    expect(await verifyAuditChain(server.store.db)).toMatchObject({ ok: true });
  });

  it.runIf(kind === 'postgresql')('tells every replica at once: a policy applied on one reaches agents connected to another', async () => {
    const a = await start();
    const b = await start();
    const device = await FakeDevice.create();
    const { token } = await (
      await fetch(`${a.url}/v1/admin/enrollment-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${(await import('node:fs/promises').then((fs) => fs.readFile(a.adminTokenPath, 'utf8'))).trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ group: 'contractors' }),
      })
    ).json() as { token: string };
    await device.enroll(b.url, token);
    clock = Math.floor(Date.now() / 1000);
    const { session, answer } = await device.report(b.url, withScreenLock(healthyLinuxPosture(), 5));
    expect(answer).toMatchObject({ type: 'result', verdict: 'compliant' });

    await apply(a, STRICT);
    expect(await session.next(5000)).toEqual({ type: 'collect' });
    expect(b.backend.policies.forGroup('contractors')).toMatchObject({ id: 'contractors', version: 1 });
    expect(await session.attest(await device.evidence(session.nonce))).toMatchObject({ type: 'result', verdict: 'compliant' });
    expect((await decide(b.store.db, device.deviceId))?.policy).toBe('contractors@1');

    await changeDeviceStatus(a.backend, { deviceId: device.deviceId, change: 'revoke', actor: 'admin:test' });
    expect(await session.next(5000)).toMatchObject({ type: 'error', code: 'revoked' });
    expect((await session.closed).code).toBe(4403);
  });
});

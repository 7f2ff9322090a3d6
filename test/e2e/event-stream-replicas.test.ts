import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDevice } from '@postern/testkit/fake-device';
import { ServerProcess } from '@postern/testkit/server-process';

/**
 * Two real `postern-server` processes on one PostgreSQL. The event stream, not NOTIFY, is what
 * carries changes between them: a replica whose LISTEN connection is killed still acts on what
 * happened meanwhile.
 */
describe('the event stream across two replicas on postgresql', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let admin: pg.Client;

  beforeAll(async () => {
    a = await ServerProcess.start('postgresql');
    b = await a.replica();
    admin = new pg.Client({ connectionString: a.db.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await b?.stop();
    await a?.stop();
  });

  /** The backend pid of a replica's LISTEN connection (named `postern-listen:<process pid>:…`), once it has one. */
  async function listenPid(replica: ServerProcess, other?: number): Promise<number> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const { rows } = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where application_name like $1 and pid <> $2`, [`postern-listen:${replica.child.pid}:%`, other ?? 0]);
      if (rows[0]) return rows[0].pid;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the replica has no LISTEN connection');
  }

  it('closes a device revoked during B’s LISTEN reconnect on B with 4403 within 2 s of B reconnecting', async () => {
    const device = await FakeDevice.create();
    expect((await device.enroll(a.url, await a.enrollmentToken())).status).toBe(201);
    const { session, answer } = await device.report(b.url);
    expect(answer).toMatchObject({ type: 'result', verdict: 'compliant' });

    const before = await listenPid(b);
    const { rows } = await admin.query<{ done: boolean }>('select pg_terminate_backend($1) as done', [before]);
    expect(rows[0]?.done).toBe(true);
    // While B reconnects: revoke through A. Its NOTIFY cannot reach B's dead connection.
    await a.admin('POST', `/v1/admin/devices/${device.deviceId}/revoke`);

    const after = await listenPid(b, before);
    const reconnectedAt = Date.now();
    expect(await session.next(5000)).toMatchObject({ type: 'error', code: 'revoked' });
    expect((await session.closed).code).toBe(4403);
    expect(Date.now() - reconnectedAt).toBeLessThan(2000);
    expect(after).not.toBe(before);
  });

  it('delivers a change committed on A to B in order and once: a policy applied on A asks B’s agents to report', async () => {
    const device = await FakeDevice.create();
    expect((await device.enroll(a.url, await a.enrollmentToken({ group: 'contractors' }))).status).toBe(201);
    const { session } = await device.report(b.url);
    await a.admin('POST', '/v1/admin/policies', {
      source: 'postern_policy: 1\ngroup: contractors\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 10\n    enforcement: block\n',
      filename: 'contractors.yaml',
      message: 'firewall only',
    });
    expect(await session.next(5000)).toEqual({ type: 'collect' });
    const result = await session.attest(await device.evidence(session.nonce));
    expect(result).toMatchObject({ type: 'result', verdict: 'compliant' });
    await expect(session.next(1500)).rejects.toThrow(/no frame/);
    const events = await admin.query<{ seq: string; type: string }>(`select seq, type from events where type = 'policy.applied' and data->>'group' = 'contractors'`);
    expect(events.rows).toHaveLength(1);
    session.close();
  });
});

import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@postern/shared';
import { FakeDevice } from '@postern/testkit/fake-device';
import { ServerProcess } from '@postern/testkit/server-process';

const DEADLINE_S = 2;

/**
 * A new stream must attest within POSTERN_ATTESTATION_TIMEOUT_S. An attestation that arrived in
 * time is judged even when storing it ends after the deadline: closing the stream under it would
 * store the report and lose its answer. The database write is held by a lock the test takes.
 */
describe('the first attestation of a stream near its deadline, on postgresql', () => {
  let server: ServerProcess;
  let admin: pg.Client;

  beforeAll(async () => {
    server = await ServerProcess.start('postgresql', { POSTERN_ATTESTATION_TIMEOUT_S: String(DEADLINE_S) });
    admin = new pg.Client({ connectionString: server.db.databaseUrl });
    await admin.connect();
  });
  // A test that failed while holding the lock must not leave it to the next one (outside a transaction this only warns).
  afterEach(async () => {
    await admin.query('rollback');
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  /** The server's backend whose insert waits for the test's lock on `attestations`. */
  async function blockedWriter(): Promise<number> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { rows } = await admin.query<{ pid: number }>(
        `select l.pid from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'attestations' and not l.granted and l.pid <> pg_backend_pid()`,
      );
      if (rows[0]) return rows[0].pid;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no write to attestations waited for the lock');
  }

  async function enrolledDevice(): Promise<FakeDevice> {
    const device = await FakeDevice.create();
    expect((await device.enroll(server.url, await server.enrollmentToken())).status).toBe(201);
    return device;
  }

  /** Sends the stream's first attestation while `attestations` is locked, and returns once its write waits. */
  async function attestUnderLock(device: FakeDevice) {
    const session = await device.connect(server.url);
    const opened = Date.now();
    const token = await device.evidence(session.nonce);
    await admin.query('begin');
    await admin.query('lock table attestations in exclusive mode');
    session.sendRaw(JSON.stringify({ type: 'attestation', token }));
    const writer = await blockedWriter();
    expect(Date.now() - opened).toBeLessThan(DEADLINE_S * 1000);
    return { session, opened, writer };
  }

  const pastDeadline = async (opened: number) => {
    const wait = DEADLINE_S * 1000 + 700 - (Date.now() - opened);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };

  it('answers an attestation sent in time whose write ends after the deadline, and keeps the stream', async () => {
    const device = await enrolledDevice();
    const { session, opened } = await attestUnderLock(device);
    await pastDeadline(opened);
    expect(session.ws.readyState).toBe(session.ws.OPEN);
    await admin.query('commit');
    const answer = await session.next();
    expect(answer).toMatchObject({ type: 'result', verdict: expect.any(String) });
    // Authenticated now: the deadline no longer applies, and the next report is answered too.
    await new Promise((r) => setTimeout(r, 300));
    expect(session.ws.readyState).toBe(session.ws.OPEN);
    expect(await session.attest(await device.evidence(session.nonce))).toMatchObject({ type: 'result' });
    session.close();
  });

  it('closes with 4408 once an attestation sent in time is refused as retryable after the deadline', async () => {
    const device = await enrolledDevice();
    const { session, opened, writer } = await attestUnderLock(device);
    await pastDeadline(opened);
    // The server's connection dies under its write: a database outage, retryable, not the agent's fault.
    await admin.query('select pg_terminate_backend($1)', [writer]);
    await admin.query('commit');
    const answer = await session.next();
    expect(answer).toMatchObject({ type: 'error', code: 'database_unavailable' });
    expect((await session.closed).code).toBe(CloseCode.attestationTimeout);
  });
});

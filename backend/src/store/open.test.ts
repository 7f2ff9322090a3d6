import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { appendAudit } from '../audit/append.js';
import { migrateToLatest } from './migrate.js';
import { isDatabaseUnavailable } from './database-unavailable.js';
import { DatabaseUnavailableError, openStore } from './open.js';

describe.each(databaseKinds)('the %s store', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it('migrates an empty database, and migrating again changes nothing', async () => {
    database = await testDatabase(kind);
    const store = await openStore(database);
    expect(store.kind).toBe(kind);
    expect(await migrateToLatest(store.db)).toEqual([]);
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(store.db);
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['active_policies', 'admin_tokens', 'attestations', 'audit_log', 'device_exceptions', 'device_posture', 'devices', 'dpop_jtis', 'enrollment_tokens', 'gateway_keys', 'policy_versions', 'rate_limits', 'server_secrets', 'signing_keys', 'spent_nonces']),
    );
    await store.close();
  });

  it('keeps its data across a close and reopen', async () => {
    database = await testDatabase(kind);
    const first = await openStore(database);
    await first.db.insertInto('gateway_keys').values({ name: 'edge', key_hash: 'ab'.repeat(32) }).execute();
    await first.close();
    const second = await openStore(database);
    expect(await second.db.selectFrom('gateway_keys').select('name').execute()).toEqual([{ name: 'edge' }]);
    await second.close();
  });

  it('reads bigint columns as numbers and jsonb as objects', async () => {
    database = await testDatabase(kind);
    const store = await openStore(database);
    const row = await appendAudit(store.db, { actor: 't', kind: 'device.enrolled', detail: { a: [1, 2] } });
    expect(typeof row.id).toBe('number');
    expect(row.detail).toEqual({ a: [1, 2] });
    await store.close();
  });

  it('keeps a transaction apart from statements running beside it', async () => {
    database = await testDatabase(kind);
    const store = await openStore(database);
    let releaseTransaction!: () => void;
    const gate = new Promise<void>((r) => (releaseTransaction = r));
    const inTransaction = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('gateway_keys').values({ name: 'rolled-back', key_hash: 'cd'.repeat(32) }).execute();
      await gate;
      throw new Error('roll back');
    });
    const outside = store.db.insertInto('gateway_keys').values({ name: 'kept', key_hash: 'ef'.repeat(32) }).execute();
    releaseTransaction();
    await expect(inTransaction).rejects.toThrow('roll back');
    await outside;
    expect(await store.db.selectFrom('gateway_keys').select('name').execute()).toEqual([{ name: 'kept' }]);
    await store.close();
  });
});

describe('the embedded database', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it('starts with a small page cache by default, and with the size it is given', async () => {
    database = await testDatabase('pglite');
    const store = await openStore(database);
    const settings = async (s: typeof store) => (await sql<{ name: string; setting: string; unit: string }>`select name, setting, unit from pg_settings where name in ('shared_buffers', 'maintenance_work_mem') order by name`.execute(s.db)).rows;
    // shared_buffers counts 8 kB pages; maintenance_work_mem kB.
    expect(await settings(store)).toEqual([
      { name: 'maintenance_work_mem', setting: String(16 * 1024), unit: 'kB' },
      { name: 'shared_buffers', setting: String((16 * 1024) / 8), unit: '8kB' },
    ]);
    await store.close();
    const larger = await openStore({ ...database, pglite: { sharedBuffersMB: 64 } });
    expect((await settings(larger))[1]).toEqual({ name: 'shared_buffers', setting: String((64 * 1024) / 8), unit: '8kB' });
    await larger.close();
  });
});

describe('opening PostgreSQL that is not there', () => {
  it('says which URL failed, hides its password, and says what to check', async () => {
    const error = await openStore({ databaseUrl: 'postgres://postern:s3cret@127.0.0.1:1/postern', dataDir: '/nonexistent' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(/postgres:\/\/postern:\*\*\*@127\.0\.0\.1:1\/postern/);
    expect((error as Error).message).not.toMatch(/s3cret/);
    expect((error as Error).message).toMatch(/DATABASE_URL/);
  });
});

describe.runIf(databaseKinds.includes('postgresql'))('a PostgreSQL connection lost while checked out', () => {
  it('fails its transaction as unreachable instead of ending the process', async () => {
    const database = await testDatabase('postgresql');
    const store = await openStore(database);
    const other = await openStore(database);
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let pid = 0;
      const inTransaction = store.db.transaction().execute(async (trx) => {
        pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid ?? 0;
        // Between two statements: the connection is checked out and no query is running.
        await gate;
        await sql`select 1`.execute(trx);
      });
      while (pid === 0) await new Promise((r) => setTimeout(r, 10));
      await sql`select pg_terminate_backend(${pid})`.execute(other.db);
      // The client hears its connection end before anything is asked of it again.
      await new Promise((r) => setTimeout(r, 200));
      release();
      const failure = await inTransaction.then(
        () => null,
        (error: unknown) => error,
      );
      expect(isDatabaseUnavailable(failure)).toBe(true);
      // The pool discarded that connection: the next statement gets a new one.
      expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await other.close();
      await store.close();
      await database.cleanup();
    }
  });
});

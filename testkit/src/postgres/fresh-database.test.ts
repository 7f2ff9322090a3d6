import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, MISSING_SERVER_MESSAGE, type FreshDatabase } from './fresh-database.js';

describe('the PostgreSQL test harness', () => {
  const created: FreshDatabase[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((db) => db.drop()));
  });

  async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  it('gives each caller a fresh, empty PostgreSQL 15 database', async () => {
    const db = await freshPostgresDatabase();
    created.push(db);

    const [row] = await query<{ version: string }>(db.url, 'select version()');
    expect(row?.version).toContain('PostgreSQL 15');
    const tables = await query(db.url, "select 1 from pg_tables where schemaname = 'public'");
    expect(tables).toEqual([]);
  });

  it('keeps the databases of two callers apart', async () => {
    const [a, b] = await Promise.all([freshPostgresDatabase(), freshPostgresDatabase()]);
    created.push(a, b);
    expect(a.url).not.toEqual(b.url);

    await query(a.url, 'create table only_in_a (id int)');
    const inB = await query(b.url, "select 1 from pg_tables where tablename = 'only_in_a'");
    expect(inB).toEqual([]);
  });

  it('drops a database even while a client is still connected to it', async () => {
    const db = await freshPostgresDatabase();
    const lingering = new pg.Client({ connectionString: db.url });
    lingering.on('error', () => {}); // the drop terminates this connection on purpose
    await lingering.connect();

    await db.drop();
    await db.drop(); // a second drop is harmless

    const name = new URL(db.url).pathname.slice(1);
    const left = await query(process.env.POSTERN_TEST_DATABASE_URL ?? '', `select 1 from pg_database where datname = '${name}'`);
    expect(left).toEqual([]);
    await lingering.end().catch(() => {});
  });

  it('says how to get a server when POSTERN_TEST_DATABASE_URL is unset', async () => {
    const saved = process.env.POSTERN_TEST_DATABASE_URL;
    delete process.env.POSTERN_TEST_DATABASE_URL;
    try {
      await expect(freshPostgresDatabase()).rejects.toThrow(MISSING_SERVER_MESSAGE);
    } finally {
      if (saved !== undefined) process.env.POSTERN_TEST_DATABASE_URL = saved;
    }
  });
});

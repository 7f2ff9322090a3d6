import { createServer, type Server, type Socket } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@postern/testkit/free-port';
import { freshPostgresDatabase, type FreshDatabase } from '@postern/testkit/postgres/fresh-database';
import { isDatabaseUnavailable } from './database-unavailable.js';
import { DatabaseUnavailableError } from './open.js';

const failureOf = async (work: () => Promise<unknown>): Promise<unknown> => {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
};

describe('telling an unreachable database from a refused query', () => {
  let database: FreshDatabase;
  let silent: Server;
  const held = new Set<Socket>();
  beforeAll(async () => {
    database = await freshPostgresDatabase();
    // Accepts connections and never answers: a database host that hangs.
    silent = createServer((socket) => void held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await database.drop();
  });

  it('is unreachable when nothing listens on the port', async () => {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` });
    expect(isDatabaseUnavailable(await failureOf(() => client.connect()))).toBe(true);
  });

  it('is unreachable when the pool cannot get a connection in time', async () => {
    const { port } = silent.address() as { port: number };
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 200 });
    pool.on('error', () => undefined);
    const error = await failureOf(() => pool.query('select 1'));
    expect((error as Error).message).toMatch(/timeout/);
    expect(isDatabaseUnavailable(error)).toBe(true);
    await pool.end();
  });

  it('is unreachable when the server ends the session, and not for SQL or constraint errors', async () => {
    const client = new pg.Client({ connectionString: database.url });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('create table t (id int primary key)');
    await client.query('insert into t values (1)');
    expect(isDatabaseUnavailable(await failureOf(() => client.query('insert into t values (1)')))).toBe(false);
    expect(isDatabaseUnavailable(await failureOf(() => client.query('selec 1')))).toBe(false);
    expect(isDatabaseUnavailable(await failureOf(() => client.query('select 1/0')))).toBe(false);
    const terminated = await failureOf(() => client.query('select pg_terminate_backend(pg_backend_pid())'));
    expect(isDatabaseUnavailable(terminated)).toBe(true);
    expect(isDatabaseUnavailable(await failureOf(() => client.query('select 1')))).toBe(true);
  });

  it('is unreachable once PGlite is closed, and not for its SQL errors', async () => {
    const db = await PGlite.create();
    expect(isDatabaseUnavailable(await failureOf(() => db.query('selec 1')))).toBe(false);
    await db.close();
    expect(isDatabaseUnavailable(await failureOf(() => db.query('select 1')))).toBe(true);
  });

  it('follows causes, and knows the store’s own error', () => {
    expect(isDatabaseUnavailable(new DatabaseUnavailableError('cannot connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('batch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

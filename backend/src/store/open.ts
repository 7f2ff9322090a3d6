import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate.js';
import { compileWasmForMemory, DEFAULT_PGLITE_MEMORY, pgliteStartParams, type PgliteMemory } from './pglite-memory.js';
import { pglitePool } from './pglite-pool.js';
import type { Database } from './schema.js';

export type StoreKind = 'pglite' | 'postgresql';
export interface Store {
  db: Kysely<Database>;
  kind: StoreKind;
  /** Where the data lives, for the start-up line: a directory or a URL without its password. */
  location: string;
  /** PostgreSQL only: the connection URL, for the dedicated LISTEN connection (events/wakeups.ts). */
  connectionUrl?: string;
  /** PGlite only: LISTEN on its one session (PostgreSQL listens on a connection of its own). */
  listen?(channel: string, handler: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  readonly code = 'database_unavailable';
}

const INT8 = 20;

/**
 * Opens PostgreSQL when a URL is given, else the embedded PGlite database in `dataDir`,
 * and migrates it. One SQL dialect, one set of migrations for both.
 */
export async function openStore(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
  pglite?: PgliteMemory;
  migrateUpTo?: Parameters<typeof migrateToLatest>[1];
}): Promise<Store> {
  const store = options.databaseUrl ? await openPostgres(options.databaseUrl, options.poolSize ?? 10) : await openPglite(options.dataDir, options.pglite ?? DEFAULT_PGLITE_MEMORY);
  try {
    await migrateToLatest(store.db, options.migrateUpTo);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

async function openPostgres(url: string, max: number): Promise<Store> {
  // seq and ids are bigint; the protocol bounds them to safe integers, so read them as numbers.
  const types = { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser };
  // A host that does not answer (lost, not refusing) fails a request after 10 s, a 503 the client
  // may retry, instead of holding it until the kernel gives up on the connection.
  const pool = new pg.Pool({ connectionString: url, max, types, connectionTimeoutMillis: 10_000 });
  // An idle connection the database closed (restart, failover, admin) is dropped from the pool;
  // without a listener its error would end the process. The next query reconnects or fails clearly.
  pool.on('error', () => undefined);
  // The pool listens only to its idle connections. One checked out (in a transaction, between two
  // statements) emits the same error when the database goes away, and with nobody listening that
  // ended the process: every gateway's decisions with it. Its queries fail with the error
  // anyway, and the pool discards a connection that can no longer be queried when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DatabaseUnavailableError(`cannot connect to PostgreSQL at ${redact(url)}: ${(error as Error).message}. Check DATABASE_URL and that the server is running.`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgresql', location: redact(url), connectionUrl: url, close: () => db.destroy() };
}

async function openPglite(dataDir: string, memory: PgliteMemory): Promise<Store> {
  const dir = join(dataDir, 'pglite');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  compileWasmForMemory();
  const { PGlite } = await import('@electric-sql/pglite');
  let instance;
  try {
    instance = await PGlite.create(dir, { parsers: { [INT8]: (v: string) => Number(v) }, startParams: pgliteStartParams(PGlite.defaultStartParams, memory) });
  } catch (error) {
    throw new DatabaseUnavailableError(`cannot open the embedded database in ${dir}: ${(error as Error).message}. Is another postern-server using this data directory?`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pglitePool(instance) }) });
  const listen = async (channel: string, handler: () => void) => {
    const unlisten = await instance.listen(channel, () => handler());
    return () => unlisten();
  };
  return { db, kind: 'pglite', location: dir, listen, close: () => db.destroy() };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/**
 * One empty PostgreSQL database per test (or per file), in the server the global setup
 * provided through `POSTERN_TEST_DATABASE_URL`.
 *
 * @example
 * ```ts
 * let db: { url: string; drop(): Promise<void> };
 * beforeAll(async () => { db = await freshPostgresDatabase(); });
 * afterAll(() => db.drop());
 * it('stores a device', async () => { const store = await openStore(db.url); ... });
 * ```
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface FreshDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Terminates every connection to the database and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

export const MISSING_SERVER_MESSAGE =
  'PostgreSQL tests need a server: install postgresql-15 or set POSTERN_TEST_DATABASE_URL';

/** The URL of the test server, or a clear error when there is none. */
export function postgresServerUrl(): string {
  const url = process.env.POSTERN_TEST_DATABASE_URL;
  if (!url) throw new Error(MISSING_SERVER_MESSAGE);
  return url;
}

async function withAdminClient<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates a uniquely named, empty database in the test server and returns its URL. */
export async function freshPostgresDatabase(): Promise<FreshDatabase> {
  const serverUrl = postgresServerUrl();
  // Lower case letters, digits and underscores only, so the name needs no quoting rules.
  const name = `postern_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(serverUrl, (client) => client.query(`create database "${name}"`));

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdminClient(serverUrl, async (client) => {
        await client.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [name],
        );
        await client.query(`drop database if exists "${name}" with (force)`);
      });
    },
  };
}

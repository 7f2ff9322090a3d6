/**
 * PostgreSQL for the bench: the test suite's throwaway PostgreSQL 15 cluster (the testkit's),
 * one fresh database per measurement, and the cluster's processes for CPU accounting.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBinaries, POSTGRES_MAJOR, startThrowawayCluster, type ThrowawayCluster } from '@postern/testkit/postgres/cluster';
import { processTree } from './proc.js';

export interface BenchPostgres {
  version: string;
  /** Durability settings in force (the throwaway cluster starts with them off; the bench turns them back on). */
  settings: Record<string, string>;
  createDatabase(name: string): Promise<string>;
  /** The postmaster and every backend it forked, now. */
  pids(): number[];
  stop(): void;
}

/**
 * Starts the cluster. The test cluster runs with fsync, synchronous_commit and
 * full_page_writes off (its data is thrown away); a deployment keeps them on, so unless
 * `durable` is false they are switched back on (all three take effect on reload).
 */
export async function startPostgres(options: { durable: boolean }): Promise<BenchPostgres> {
  const search = findPostgresBinaries();
  if (!search.found) {
    throw new Error(
      `the bench needs PostgreSQL ${POSTGRES_MAJOR} server binaries (Debian: apt-get install postgresql-${POSTGRES_MAJOR}; or set POSTERN_TEST_PG_BINDIR)` +
        (search.otherVersions.length ? `; found only ${search.otherVersions.join(', ')}` : ''),
    );
  }
  const cluster: ThrowawayCluster = await startThrowawayCluster(search.found);
  const admin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const settings = await admin(async (c) => {
    if (options.durable) {
      for (const name of ['fsync', 'synchronous_commit', 'full_page_writes']) await c.query(`alter system set ${name} = on`);
      await c.query('select pg_reload_conf()');
      await new Promise((r) => setTimeout(r, 200));
    }
    const rows = await c.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections')`,
    );
    return Object.fromEntries(rows.rows.map((r) => [r.name, r.setting]));
  });
  const postmaster = () => Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    version: cluster.binaries.version,
    settings,
    async createDatabase(name) {
      await admin((c) => c.query(`create database "${name}"`));
      const url = new URL(cluster.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    pids: () => {
      try {
        return processTree(postmaster());
      } catch {
        return [];
      }
    },
    stop: () => cluster.stop(),
  };
}

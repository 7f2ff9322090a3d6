/**
 * Vitest global setup: gives the test run a PostgreSQL 15 server.
 *
 * - `POSTERN_TEST_DATABASE_URL` already set: that server is used and nothing is started.
 * - Otherwise a throwaway cluster is started (see `cluster.ts`) and its URL is put
 *   in `process.env.POSTERN_TEST_DATABASE_URL`, which the test workers inherit. Teardown
 *   stops it and deletes its directory.
 * - No PostgreSQL 15 on the machine: under CI (`CI` set) the run fails here, saying how to
 *   install it; on a developer's machine one warning is printed and the variable stays
 *   unset, so tests that need PostgreSQL fail with a clear message from
 *   `freshPostgresDatabase()` instead of passing silently.
 */
import { findPostgresBinaries, POSTGRES_MAJOR, startThrowawayCluster } from './cluster.js';

const INSTALL_HINT =
  `install PostgreSQL ${POSTGRES_MAJOR} (Debian/Ubuntu: apt-get install postgresql-${POSTGRES_MAJOR}; ` +
  `macOS: brew install postgresql@${POSTGRES_MAJOR}), point POSTERN_TEST_PG_BINDIR at its bin directory, ` +
  'or set POSTERN_TEST_DATABASE_URL to a server the tests may create databases on';

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env.POSTERN_TEST_DATABASE_URL) return undefined;

  const search = findPostgresBinaries();
  if (!search.found) {
    const others = search.otherVersions.length ? ` (found only: ${search.otherVersions.join('; ')})` : '';
    const message = `No PostgreSQL ${POSTGRES_MAJOR} server binaries (initdb, pg_ctl, postgres) found${others}: ${INSTALL_HINT}.`;
    if (process.env.CI) throw new Error(message);
    console.warn(`[postgres] ${message} Tests that need PostgreSQL will fail.`);
    return undefined;
  }

  const startedAt = performance.now();
  const cluster = await startThrowawayCluster(search.found);
  process.env.POSTERN_TEST_DATABASE_URL = cluster.url;
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  console.log(`[postgres] throwaway cluster on 127.0.0.1:${cluster.port} as ${cluster.account} from ${cluster.binaries.bindir} (${seconds}s)`);

  return () => {
    cluster.stop();
    delete process.env.POSTERN_TEST_DATABASE_URL;
  };
}

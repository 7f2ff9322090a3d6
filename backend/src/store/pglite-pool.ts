import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/**
 * Presents one embedded PGlite instance as a pg-style pool of one connection, so Kysely's
 * own PostgresDialect (and its transactions) work unchanged. PGlite has a single session:
 * a caller holds it exclusively from connect() to release(), or a transaction begun by
 * one request would swallow another request's statements.
 */
export function pglitePool(db: PGlite): PostgresPool {
  let tail: Promise<void> = Promise.resolve();
  // Kysely never asks this pool for cursors, so only the (sql, parameters) form is served.
  const query = async <R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
    const result = await db.query<R>(sql, parameters as unknown[]);
    return { command: commandOf(sql), rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
  };
  const client = (release: () => void): PostgresPoolClient => ({ query: query as PostgresPoolClient['query'], release });
  return {
    connect() {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const acquired = tail.then(() => client(release));
      tail = tail.then(() => held);
      return acquired;
    },
    async end() {
      await tail;
      await db.close();
    },
  };
}

// Kysely reads `command` to report affected rows for writes.
function commandOf(sql: string): PostgresQueryResult<unknown>['command'] {
  const word = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
  return word === 'INSERT' || word === 'UPDATE' || word === 'DELETE' || word === 'MERGE' ? word : 'SELECT';
}

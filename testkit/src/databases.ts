import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresDatabase } from './postgres/fresh-database.js';

/** Both stores every integration test runs against: embedded PGlite and a real PostgreSQL 15. */
export interface TestDatabase {
  dataDir: string;
  databaseUrl: string | undefined;
  cleanup(): Promise<void>;
}

export const databaseKinds = ['pglite', 'postgresql'] as const;
export type DatabaseKind = (typeof databaseKinds)[number];

export async function testDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), `postern-${kind}-`));
  if (kind === 'pglite') return { dataDir, databaseUrl: undefined, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  const pg = await freshPostgresDatabase();
  return {
    dataDir,
    databaseUrl: pg.url,
    cleanup: async () => {
      await pg.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Stores opened by `open` on throwaway databases of one kind, for a test file's integration tests:
 * `fresh()` in a test, `cleanup()` in its afterEach closes every store and removes its database.
 */
export class TestStores<S extends { close(): Promise<void> }> {
  private readonly opened: Array<{ database: TestDatabase; store: S | undefined }> = [];

  constructor(
    private readonly kind: DatabaseKind,
    private readonly open: (database: TestDatabase) => Promise<S>,
  ) {}

  async fresh(): Promise<S> {
    const entry: { database: TestDatabase; store: S | undefined } = { database: await testDatabase(this.kind), store: undefined };
    this.opened.push(entry);
    entry.store = await this.open(entry.database);
    return entry.store;
  }

  async cleanup(): Promise<void> {
    for (const { database, store } of this.opened.splice(0)) {
      await store?.close();
      await database.cleanup();
    }
  }
}

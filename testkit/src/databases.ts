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

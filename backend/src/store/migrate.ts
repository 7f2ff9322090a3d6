import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as initial from './migrations/0001-initial.js';
import * as policyVersions from './migrations/0002-policy-versions-exceptions-audit-chain.js';
import * as standingAndEvents from './migrations/0003-standing-and-events.js';
import * as limits from './migrations/0004-limits.js';
import * as ssf from './migrations/0005-ssf.js';
import * as lifecycle from './migrations/0006-lifecycle.js';
import * as admins from './migrations/0007-admins.js';
import * as fleetIndexes from './migrations/0008-fleet-indexes.js';
import * as changeRefSearch from './migrations/0009-change-ref-search.js';
import * as fleetRollup from './migrations/0010-fleet-rollup.js';
import type { Database } from './schema.js';
// Migrations are listed here, not read from a folder, so the compiled package carries them.

const migrations = {
  '0001-initial': initial,
  '0002-policy-versions-exceptions-audit-chain': policyVersions,
  '0003-standing-and-events': standingAndEvents,
  '0004-limits': limits,
  '0005-ssf': ssf,
  '0006-lifecycle': lifecycle,
  '0007-admins': admins,
  '0008-fleet-indexes': fleetIndexes,
  '0009-change-ref-search': changeRefSearch,
  '0010-fleet-rollup': fleetRollup,
} satisfies Record<string, Migration>;

const provider: MigrationProvider = { getMigrations: async () => migrations };

export class MigrationError extends Error {
  readonly code = 'migration_failed';
}

/** Brings the schema to the latest version (or to `upTo`, for tests of a migration); safe to run from several replicas at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<Database>, upTo?: keyof typeof migrations): Promise<string[]> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'postern_migrations', migrationLockTableName: 'postern_migrations_lock' });
  const { error, results } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

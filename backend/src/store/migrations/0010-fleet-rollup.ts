import { sql, type Kysely } from 'kysely';

/**
 * The dashboard overview's rollup, kept by the durable consumer `fleet-rollup` from the event
 * stream (fleet/fleet-rollup.ts): devices per verdict and per enrollment status, and the net
 * verdict moves per five minutes that compliance over time folds. Reading them costs a few
 * hundred rows whatever the fleet's size; the writes happen once per event, off the hot path.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // dimension 'verdict' or 'status'; key the verdict or status; devices the count now.
  await db.schema
    .createTable('fleet_counts')
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('devices', 'int8', (c) => c.notNull())
    .addPrimaryKeyConstraint('fleet_counts_pk', ['dimension', 'key'])
    .execute();
  // bucket: floor(epoch seconds of the event / 300); devices: devices gained (or lost, negative) by the verdict in it.
  await db.schema
    .createTable('fleet_verdict_moves')
    .addColumn('bucket', 'int8', (c) => c.notNull())
    .addColumn('verdict', 'text', (c) => c.notNull())
    .addColumn('devices', 'int8', (c) => c.notNull())
    .addPrimaryKeyConstraint('fleet_verdict_moves_pk', ['bucket', 'verdict'])
    .execute();
  // One row once the rollup has been built from the tables (built_seq: the stream's head then).
  await db.schema
    .createTable('fleet_rollup')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('built_seq', 'int8', (c) => c.notNull())
    .addColumn('built_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // The overview's "ends soon" list: few devices have an end date, and it seldom changes (reports stay HOT).
  await sql`create index devices_expires_at on devices (expires_at) where expires_at is not null and status <> 'revoked'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('devices_expires_at').ifExists().execute();
  for (const table of ['fleet_rollup', 'fleet_verdict_moves', 'fleet_counts']) await db.schema.dropTable(table).ifExists().execute();
}

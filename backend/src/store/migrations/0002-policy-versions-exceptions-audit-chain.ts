import { sql, type Kysely } from 'kysely';
import { entryHash, GENESIS_HASH } from '../audit-chain.js';

// Migrations take Kysely<unknown>: they must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Every change of a group's policy is a new, immutable version.
  await db.schema
    .createTable('policy_versions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    .addColumn('document', 'jsonb', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('yaml', 'json')`))
    .addColumn('source_sha256', 'text', (c) => c.notNull())
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('policy_versions_group_version', ['group_name', 'version'])
    .execute();
  await sql`create function postern_immutable() returns trigger language plpgsql as $$
    begin raise exception '% rows are immutable: apply a new version instead', tg_table_name; end $$`.execute(db);
  await sql`create trigger policy_versions_immutable before update or delete on policy_versions for each row execute function postern_immutable()`.execute(db);

  // The one active version per group (`default`: every group without its own).
  await db.schema
    .createTable('active_policies')
    .addColumn('group_name', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'bigint', (c) => c.notNull().references('policy_versions.id'))
    .addColumn('activated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('activated_by', 'text', (c) => c.notNull())
    .execute();

  // Break-glass exceptions: one check waived for one device until a time.
  await db.schema
    .createTable('device_exceptions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('device_id', 'uuid', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('check_id', 'text', (c) => c.notNull())
    .addColumn('until', 'timestamptz', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('granted_by', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    // Set once a replica has re-evaluated the device after the exception ended (expiry or revocation).
    .addColumn('ended_processed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('device_exceptions_device').on('device_exceptions').columns(['device_id', 'until']).execute();
  await db.schema.createIndex('device_exceptions_unprocessed').on('device_exceptions').column('until').where(sql.ref('ended_processed_at'), 'is', null).execute();

  // Hash chain over the audit log (see store/audit-chain.ts). `at` keeps milliseconds, as JavaScript does,
  // so a hash computed when appending matches one recomputed from the stored row.
  await db.schema.alterTable('audit_log').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('hash', 'text').execute();
  await sql`update audit_log set at = date_trunc('milliseconds', at)`.execute(db);
  let prev = GENESIS_HASH;
  let after = 0;
  for (;;) {
    const rows = await sql<{ id: number | string; at: Date; actor: string; kind: string; device_id: string | null; detail: unknown }>`
      select id, at, actor, kind, device_id, detail from audit_log where id > ${after} order by id limit 1000`.execute(db);
    if (rows.rows.length === 0) break;
    for (const row of rows.rows) {
      const id = Number(row.id);
      const hash = entryHash({ id, at: row.at, actor: row.actor, kind: row.kind, device_id: row.device_id, detail: row.detail, prev_hash: prev });
      await sql`update audit_log set prev_hash = ${prev}, hash = ${hash} where id = ${id}`.execute(db);
      prev = hash;
      after = id;
    }
  }
  await sql`alter table audit_log alter column prev_hash set not null, alter column hash set not null`.execute(db);
  // Two entries can never claim the same predecessor: the chain cannot fork, even if a lock were skipped.
  await db.schema.createIndex('audit_log_prev_hash').on('audit_log').column('prev_hash').unique().execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'id']).execute();
  await db.schema.createIndex('audit_log_kind').on('audit_log').columns(['kind', 'id']).execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of ['audit_log_at', 'audit_log_kind', 'audit_log_actor', 'audit_log_prev_hash']) await db.schema.dropIndex(index).ifExists().execute();
  await db.schema.alterTable('audit_log').dropColumn('hash').execute();
  await db.schema.alterTable('audit_log').dropColumn('prev_hash').execute();
  await db.schema.dropTable('device_exceptions').ifExists().execute();
  await db.schema.dropTable('active_policies').ifExists().execute();
  await db.schema.dropTable('policy_versions').ifExists().execute();
  await sql`drop function if exists postern_immutable()`.execute(db);
}

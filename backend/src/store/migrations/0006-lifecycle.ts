import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Tokens: revocation, and the change reference a non-human host is enrolled under.
  await db.schema
    .alterTable('enrollment_tokens')
    .addColumn('change_ref', 'text')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .execute();

  await db.schema
    .alterTable('devices')
    .addColumn('change_ref', 'text')
    // A pending enrollment nobody decided on ends at this moment (POSTERN_PENDING_EXPIRY after enrolling).
    .addColumn('pending_until', 'timestamptz')
    // An enrollment from the machine of a device still enrolled: waits for `device relink`, then names the device it replaced.
    .addColumn('relink_of', 'uuid', (c) => c.references('devices.id').onDelete('set null'))
    // Key rotation: the new key the device proved it holds, until a request signed with it confirms it.
    .addColumn('pending_kid', 'text')
    .addColumn('pending_public_jwk', 'jsonb')
    .addColumn('key_rotation_started_at', 'timestamptz')
    // When the current key became the device's key (enrollment or the last confirmed rotation).
    .addColumn('key_created_at', 'timestamptz')
    .execute();
  await sql`update devices set key_created_at = enrolled_at`.execute(db);
  // A pending key must be nobody's key, current or pending.
  await db.schema.createIndex('devices_pending_kid').unique().on('devices').column('pending_kid').where(sql.ref('pending_kid'), 'is not', null).execute();
  // The sweep looks pending devices up by their end; enrollment looks enrolled machines up by machine_id.
  await db.schema.createIndex('devices_pending_until').on('devices').column('pending_until').where(sql.ref('pending_until'), 'is not', null).execute();
  await db.schema.createIndex('devices_machine_id').on('devices').column('machine_id').execute();

  // What a group requires of the tokens that enroll into it and of its devices' end dates.
  await db.schema
    .createTable('group_settings')
    .addColumn('group_name', 'text', (c) => c.primaryKey())
    .addColumn('max_device_lifetime_s', 'integer')
    .addColumn('require_owner', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('require_change_ref', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('group_settings').execute();
  await db.schema.dropIndex('devices_machine_id').execute();
  await db.schema.dropIndex('devices_pending_until').execute();
  await db.schema.dropIndex('devices_pending_kid').execute();
  await db.schema
    .alterTable('devices')
    .dropColumn('change_ref')
    .dropColumn('pending_until')
    .dropColumn('relink_of')
    .dropColumn('pending_kid')
    .dropColumn('pending_public_jwk')
    .dropColumn('key_rotation_started_at')
    .dropColumn('key_created_at')
    .execute();
  await db.schema.alterTable('enrollment_tokens').dropColumn('change_ref').dropColumn('revoked_at').dropColumn('revoked_by').execute();
}

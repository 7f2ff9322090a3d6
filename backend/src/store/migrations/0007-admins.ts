import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Named people (or robots) with one role each; every admin token and browser session belongs to one.
  await db.schema
    .createTable('admins')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text')
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('viewer', 'operator', 'admin')`))
    .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    // `<issuer> <sub>` of the OpenID Connect account that signs in as this admin, once it has.
    .addColumn('oidc_subject', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.alterTable('admin_tokens').addColumn('admin_id', 'uuid', (c) => c.references('admins.id').onDelete('cascade')).execute();
  // The tokens made before accounts (the shared `initial` one) become the first admin's.
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from admin_tokens`.execute(db);
  if (Number(rows[0]?.n ?? 0) > 0) {
    await sql`insert into admins (name, role) values ('initial', 'admin')`.execute(db);
    await sql`update admin_tokens set admin_id = (select id from admins where name = 'initial')`.execute(db);
  }
  await db.schema.alterTable('admin_tokens').alterColumn('admin_id', (c) => c.setNotNull()).execute();

  // Browser sessions: only the hash of the cookie's secret is kept.
  await db.schema
    .createTable('admin_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('admin_id', 'uuid', (c) => c.notNull().references('admins.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // One-time sign-in links and OpenID Connect sign-ins under way: short-lived, used once.
  await db.schema
    .createTable('admin_sign_in_links')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('admin_id', 'uuid', (c) => c.notNull().references('admins.id').onDelete('cascade'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('next_path', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('oidc_sign_ins')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('next_path', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // The "your device" page's links: one device each, short-lived.
  await db.schema
    .createTable('device_page_links')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('device_id', 'uuid', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['device_page_links', 'oidc_sign_ins', 'admin_sign_in_links', 'admin_sessions']) await db.schema.dropTable(table).execute();
  await db.schema.alterTable('admin_tokens').dropColumn('admin_id').execute();
  await db.schema.dropTable('admins').execute();
}

import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Plain-HTTP nonces are self-verifying now (nonces/http-nonce.ts): what is stored is the spend,
  // written when an attestation uses one, not the issue. Nonces issued by the old scheme fail the
  // MAC anyway, so the old table goes.
  await db.schema.dropTable('nonces').ifExists().execute();
  await db.schema
    .createTable('spent_nonces')
    .addColumn('nonce_hash', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // Secrets every replica must share (the nonce MAC key), made once by the first replica.
  await db.schema
    .createTable('server_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // rate-limiter-flexible's RateLimiterPostgres table, in its own layout (key, points, expire ms),
  // created here rather than by the library so the schema has one owner.
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
  await db.schema.dropTable('server_secrets').execute();
  await db.schema.dropTable('spent_nonces').execute();
  await db.schema
    .createTable('nonces')
    .addColumn('nonce_hash', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // What a gateway key may do. Keys made before scopes keep what they could do: forward-auth and
  // the compliance API (`authz`). Shared Signals receivers need `ssf`.
  await db.schema
    .alterTable('gateway_keys')
    .addColumn('scopes', 'jsonb', (c) => c.notNull().defaultTo(sql`'["authz"]'::jsonb`))
    .execute();

  // The RS256 keys Security Event Tokens are signed with, apart from the ES256 result-token keys.
  await db.schema
    .createTable('ssf_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('retired_at', 'timestamptz')
    .execute();

  // One row per SSF stream, owned by the gateway key (receiver) that created it.
  await db.schema
    .createTable('ssf_streams')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('receiver_key_id', 'uuid', (c) => c.notNull().references('gateway_keys.id').onDelete('cascade'))
    .addColumn('aud', 'jsonb', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('events_requested', 'jsonb', (c) => c.notNull())
    .addColumn('delivery_method', 'text', (c) => c.notNull())
    .addColumn('endpoint_url', 'text')
    .addColumn('authorization_header', 'text')
    .addColumn('min_verification_interval', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    // Events at or before this seq happened before the stream existed and are not sent on it.
    .addColumn('after_seq', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('verification_requested_at', 'timestamptz')
    // Push delivery health, shown in the stream's status: set once a SET reached the attempt limit.
    .addColumn('failing_since', 'timestamptz')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('ssf_streams_receiver').on('ssf_streams').column('receiver_key_id').execute();

  // Subjects a receiver added (only these are sent, once any is added) or removed (never sent).
  await db.schema
    .createTable('ssf_subjects')
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('ssf_streams.id').onDelete('cascade'))
    .addColumn('subject_key', 'text', (c) => c.notNull())
    .addColumn('subject', 'jsonb', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ssf_subjects_pk', ['stream_id', 'subject_key'])
    .execute();

  // The outbox: one signed SET per stream, in order (id), until the receiver has it (202 or ack).
  await db.schema
    .createTable('ssf_outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('ssf_streams.id').onDelete('cascade'))
    .addColumn('jti', 'text', (c) => c.notNull().unique())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint')
    .addColumn('set_jwt', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A replica delivering this row holds it until then; a crashed replica's claim runs out.
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('last_error', 'text')
    // Poll: when the SET was last handed out without an acknowledgement yet.
    .addColumn('offered_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('ssf_outbox_stream').on('ssf_outbox').columns(['stream_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ssf_outbox').execute();
  await db.schema.dropTable('ssf_subjects').execute();
  await db.schema.dropTable('ssf_streams').execute();
  await db.schema.dropTable('ssf_signing_keys').execute();
  await db.schema.alterTable('gateway_keys').dropColumn('scopes').execute();
}

import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // A device's current standing, decided by the one judge (standing/judge.ts) and written by the
  // one writer (standing/record.ts). Every device has a row from enrollment on; every read of a
  // verdict (compliance API, forward-auth, admin views) reads it instead of judging again.
  await db.schema
    .createTable('device_standing')
    .addColumn('device_id', 'uuid', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
    .addColumn('verdict', 'text', (c) => c.notNull())
    .addColumn('score', 'integer', (c) => c.notNull())
    .addColumn('checks', 'jsonb', (c) => c.notNull())
    .addColumn('policy_id', 'text', (c) => c.notNull())
    .addColumn('evaluated_at', 'timestamptz', (c) => c.notNull())
    // Since when the device has had this verdict.
    .addColumn('verdict_since', 'timestamptz', (c) => c.notNull())
    // When the verdict may change by itself (staleness, grace end, exception end, device expiry); the due-time sweep's queue.
    .addColumn('next_change_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('device_standing_due').on('device_standing').column('next_change_at').where(sql.ref('next_change_at'), 'is not', null).execute();

  // Existing devices: their last evaluation, due at once so the sweep judges each one again by the rules of today.
  await sql`insert into device_standing (device_id, verdict, score, checks, policy_id, evaluated_at, verdict_since, next_change_at)
    select d.id,
      coalesce(p.verdict, case d.status when 'revoked' then 'revoked' when 'pending_approval' then 'pending' else 'unknown' end),
      coalesce(p.score, 0), coalesce(p.checks, '[]'::jsonb), coalesce(p.policy_id, 'default@1'),
      coalesce(p.evaluated_at, d.enrolled_at), coalesce(p.evaluated_at, d.enrolled_at), now()
    from devices d left join device_posture p on p.device_id = d.id`.execute(db);
  for (const column of ['verdict', 'score', 'checks', 'policy_id', 'evaluated_at']) await db.schema.alterTable('device_posture').dropColumn(column).execute();

  // The durable event stream: append-only, one gap-free sequence for the whole cluster (appends are
  // serialized by the journal lock, see events/append.ts), written in the transaction of the change.
  await db.schema
    .createTable('events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('device_id', 'uuid')
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_device').on('events').columns(['device_id', 'seq']).execute();
  await db.schema.createIndex('events_type').on('events').columns(['type', 'seq']).execute();
  await sql`create function postern_events_append_only() returns trigger language plpgsql as $$
    begin raise exception 'events are append-only: record a new event instead'; end $$`.execute(db);
  await sql`create trigger events_append_only before update on events for each row execute function postern_events_append_only()`.execute(db);

  // Where each consumer of the stream has got to. Retention deletes only what every live consumer has passed.
  await db.schema
    .createTable('event_consumers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    // Durable consumers keep their place across restarts; a replica's own (stream fan-out, caches) expire with the replica.
    .addColumn('durable', 'boolean', (c) => c.notNull())
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('event_consumers').ifExists().execute();
  await db.schema.dropTable('events').ifExists().execute();
  await sql`drop function if exists postern_events_append_only()`.execute(db);
  await db.schema.alterTable('device_posture').addColumn('verdict', 'text', (c) => c.notNull().defaultTo('unknown')).execute();
  await db.schema.alterTable('device_posture').addColumn('score', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('device_posture').addColumn('checks', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`)).execute();
  await db.schema.alterTable('device_posture').addColumn('policy_id', 'text', (c) => c.notNull().defaultTo('default@1')).execute();
  await db.schema.alterTable('device_posture').addColumn('evaluated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`)).execute();
  await sql`update device_posture p set verdict = s.verdict, score = s.score, checks = s.checks, policy_id = s.policy_id, evaluated_at = s.evaluated_at from device_standing s where s.device_id = p.device_id`.execute(db);
  await db.schema.dropTable('device_standing').ifExists().execute();
}

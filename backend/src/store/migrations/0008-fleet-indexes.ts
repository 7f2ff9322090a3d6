import { sql, type Kysely } from 'kysely';

/**
 * What the dashboard's fleet search and overview read, kept cheap at 100,000 devices without
 * slowing the hot write path: the two derived columns are computed by the database on the
 * writes that already happen and are not indexed (so report updates stay HOT); the indexes are
 * on columns that reports never change.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // The OS version a device last reported, out of its (large, often TOASTed) posture document.
  await sql`alter table device_posture add column os_version text generated always as (posture -> 'os' ->> 'version') stored`.execute(db);
  // The ids of the checks a device fails now: filters, and the overview's most-failed checks.
  await sql`alter table device_standing add column failing jsonb generated always as (jsonb_path_query_array(checks, '$[*] ? (@.status == "fail").id')) stored`.execute(db);
  // Case-insensitive prefix search and sort by hostname and owner; "C" so LIKE 'abc%' uses the btree.
  await sql`create index devices_hostname_search on devices ((lower(hostname) collate "C"), id)`.execute(db);
  await sql`create index devices_owner_search on devices ((lower(owner) collate "C"), id) where owner is not null`.execute(db);
  // Compliance over time folds the verdict changes of a window.
  await sql`create index events_verdict_changes on events (at) where type in ('device.verdict_changed', 'device.enrolled')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of ['events_verdict_changes', 'devices_owner_search', 'devices_hostname_search']) await db.schema.dropIndex(index).ifExists().execute();
  await sql`alter table device_standing drop column if exists failing`.execute(db);
  await sql`alter table device_posture drop column if exists os_version`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * The fleet search matches a prefix of a device's change reference (CHG-123) as it does a
 * hostname's or an owner's: the same case-folded "C" expression, so LIKE 'chg-1%' uses the btree.
 * Partial: most devices (people's laptops) carry none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index devices_change_ref_search on devices ((lower(change_ref) collate "C"), id) where change_ref is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('devices_change_ref_search').ifExists().execute();
}

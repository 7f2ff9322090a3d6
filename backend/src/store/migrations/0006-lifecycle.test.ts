import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { openStore } from '../open.js';

describe.each(databaseKinds)('migration 0006 on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it("dates every existing device's key from its enrollment, and keeps pending keys unique", async () => {
    database = await testDatabase(kind);
    const old = await openStore({ ...database, migrateUpTo: '0004-limits' });
    const enrolledAt = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await sql`insert into devices (id, kid, public_jwk, ueid, machine_id, hostname, platform, agent_version, group_name, status, enrolled_at)
        values (${id}, ${randomUUID()}, '{}', 'u', 'm', 'h', 'linux', '0.1.0', 'employees', 'active', ${enrolledAt})`.execute(old.db);
    }
    await old.close();

    const store = await openStore(database);
    try {
      const rows = await store.db.selectFrom('devices').select(['key_created_at', 'change_ref', 'pending_until', 'relink_of', 'pending_kid']).execute();
      expect(rows).toEqual(ids.map(() => ({ key_created_at: enrolledAt, change_ref: null, pending_until: null, relink_of: null, pending_kid: null })));
      await store.db.updateTable('devices').set({ pending_kid: 'k'.repeat(43) }).where('id', '=', ids[0] as string).execute();
      await expect(store.db.updateTable('devices').set({ pending_kid: 'k'.repeat(43) }).where('id', '=', ids[1] as string).execute()).rejects.toThrow(/devices_pending_kid|unique/);
      expect(await store.db.selectFrom('group_settings').selectAll().execute()).toEqual([]);
    } finally {
      await store.close();
    }
  }, 90_000); // two opens of an embedded database, on a shared machine
});

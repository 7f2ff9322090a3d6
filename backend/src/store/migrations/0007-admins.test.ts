import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { authenticateAdmin, ensureAdminToken } from '../../admin/admin-token.js';
import { hashSecret, newIdentifiedSecret } from '../../secrets/secret.js';
import { openStore } from '../open.js';

describe.each(databaseKinds)('migration 0007 on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it('makes the shared token of an older server the first admin’s, acting as admin:initial with the role admin', async () => {
    database = await testDatabase(kind);
    // The older server wrote its token (a name and a hash, no account) as it always did.
    const old = await openStore({ ...database, migrateUpTo: '0004-limits' });
    const id = '6a7c0e64-3b55-4d1e-9a51-9f7a3a1c2b10';
    const token = newIdentifiedSecret('pat', id);
    await sql`insert into admin_tokens (id, name, token_hash) values (${id}, 'initial', ${hashSecret(token)})`.execute(old.db);
    await old.close();

    const store = await openStore(database);
    try {
      expect(await authenticateAdmin(store.db, token)).toMatchObject({ name: 'initial', role: 'admin', disabled: false });
      // The server finds a token, so it does not make another.
      expect((await ensureAdminToken(store.db, database.dataDir)).created).toBe(false);
      expect(await store.db.selectFrom('admins').select(['name', 'role']).execute()).toEqual([{ name: 'initial', role: 'admin' }]);
    } finally {
      await store.close();
    }
    // Two databases opened and migrated from nothing: PGlite takes its time on a busy machine.
  }, 90_000);

  it('gives a new database its first admin with the server’s first start', async () => {
    database = await testDatabase(kind);
    const store = await openStore(database);
    try {
      expect(await store.db.selectFrom('admins').select('name').execute()).toEqual([]);
      expect((await ensureAdminToken(store.db, database.dataDir)).created).toBe(true);
      expect(await store.db.selectFrom('admins').select(['name', 'role']).execute()).toEqual([{ name: 'initial', role: 'admin' }]);
    } finally {
      await store.close();
    }
  });
});

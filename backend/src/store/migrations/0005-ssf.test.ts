import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { authenticateGateway, createGatewayKey, hasScope } from '../../gateways/gateway-keys.js';
import { hashSecret, newIdentifiedSecret } from '../../secrets/secret.js';
import { openStore } from '../open.js';

describe.each(databaseKinds)('migration 0005 on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it('leaves a gateway key made before scopes with what it could do (authz), not Shared Signals', { timeout: 60_000 }, async () => {
    database = await testDatabase(kind);
    const old = await openStore({ ...database, migrateUpTo: '0004-limits' });
    const id = '7b0d3f7e-2a41-4c55-9a52-1f7c3d2b8e10';
    const key = newIdentifiedSecret('pgk', id);
    await sql`insert into gateway_keys (id, name, key_hash) values (${id}, 'edge-nginx', ${hashSecret(key)})`.execute(old.db);
    await old.close();

    const store = await openStore(database);
    try {
      const gateway = await authenticateGateway(store.db, key);
      expect(gateway).toEqual({ id, name: 'edge-nginx', scopes: ['authz'] });
      expect(gateway && hasScope(gateway, 'ssf')).toBe(false);
      const both = await createGatewayKey(store.db, 'okta', 'admin:test', ['ssf', 'authz', 'ssf']);
      expect(both.scopes).toEqual(['authz', 'ssf']);
      expect(await authenticateGateway(store.db, both.key)).toMatchObject({ scopes: ['authz', 'ssf'] });
    } finally {
      await store.close();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { openStore } from '../store/open.js';
import { loadServerKeys } from './signing-keys.js';

describe.each(databaseKinds)('server signing keys on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it('are created once, even by replicas starting at the same moment', async () => {
    database = await testDatabase(kind);
    if (kind === 'pglite') {
      const store = await openStore(database);
      const [a, b] = await Promise.all([loadServerKeys(store.db), loadServerKeys(store.db)]);
      expect(a.active.kid).toBe(b.active.kid);
      expect(a.jwks.keys).toHaveLength(1);
      await store.close();
      return;
    }
    const replicas = await Promise.all([openStore(database), openStore(database), openStore(database)]);
    const keys = await Promise.all(replicas.map((r) => loadServerKeys(r.db)));
    expect(new Set(keys.map((k) => k.active.kid)).size).toBe(1);
    expect(keys.every((k) => k.jwks.keys.length === 1)).toBe(true);
    await Promise.all(replicas.map((r) => r.close()));
  });

  it('publish public members only', async () => {
    database = await testDatabase(kind);
    const store = await openStore(database);
    const { jwks } = await loadServerKeys(store.db);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    await store.close();
  });
});

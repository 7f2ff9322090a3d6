import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createGatewayKey } from '../gateways/gateway-keys.js';
import { openStore, type Store } from '../store/open.js';
import { GatewayMemory } from './gateway-memory.js';

/** Counts the statements run through it: the database reads a key check makes. */
class StatementCounter implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count++;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

describe.each(databaseKinds)('gateway keys remembered for the compliance API on %s', (kind) => {
  let database: TestDatabase;
  let store: Store;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    database = await testDatabase(kind);
    store = await openStore(database);
  });
  afterAll(async () => {
    await store?.close();
    await database?.cleanup();
  });

  const revoke = (id: string) => store.db.updateTable('gateway_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();

  it('refuses a key it was told is revoked at once, also to a check that began before', async () => {
    const { key, id } = await createGatewayKey(store.db, 'edge-forgotten', 'admin:test');
    const memory = new GatewayMemory({ maxAgeS: 120, now, recheckMs: 60_000 });
    expect(await memory.authenticate(store.db, key)).toMatchObject({ id });
    memory.forget(id);
    expect(await memory.authenticate(store.db, key)).toBeNull();

    const other = await createGatewayKey(store.db, 'edge-racing', 'admin:test');
    const racing = new GatewayMemory({ maxAgeS: 120, now, recheckMs: 60_000 });
    const underWay = racing.authenticate(store.db, other.key);
    racing.forget(other.id);
    expect(await underWay).toBeNull();
    expect(await racing.authenticate(store.db, other.key)).toBeNull();
  });

  it('checks a key in the database once for many requests, and compares the rest with the hash it kept', async () => {
    const { key } = await createGatewayKey(store.db, 'edge', 'admin:test');
    const counter = new StatementCounter();
    const db = store.db.withPlugin(counter);
    const memory = new GatewayMemory({ maxAgeS: 120, now, recheckMs: 60_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => memory.authenticate(db, key)));
    for (let i = 0; i < 20; i++) answers.push(await memory.authenticate(db, key));
    expect(answers.every((g) => g?.name === 'edge' && g.scopes.includes('authz'))).toBe(true);
    expect(counter.count).toBe(1);
  });

  it('refuses a wrong secret under a known key id without forgetting the real key', async () => {
    const { key } = await createGatewayKey(store.db, 'edge', 'admin:test');
    const counter = new StatementCounter();
    const db = store.db.withPlugin(counter);
    const memory = new GatewayMemory({ maxAgeS: 120, now, recheckMs: 60_000 });
    expect(await memory.authenticate(db, key)).not.toBeNull();
    const forged = `${key.slice(0, -4)}${key.endsWith('0000') ? '1111' : '0000'}`;
    expect(await memory.authenticate(db, forged)).toBeNull();
    expect(await memory.authenticate(db, 'pgk_not-a-key')).toBeNull();
    expect(await memory.authenticate(db, key)).not.toBeNull();
    // The forged key was asked of the database; the real one, remembered, was not asked again.
    expect(counter.count).toBe(2);
  });

  it('refuses a revoked key once its last check is older than the recheck interval', async () => {
    const { id, key } = await createGatewayKey(store.db, 'edge', 'admin:test');
    const remembering = new GatewayMemory({ maxAgeS: 120, now, recheckMs: 60_000 });
    const checking = new GatewayMemory({ maxAgeS: 120, now, recheckMs: 0 });
    expect(await remembering.authenticate(store.db, key)).not.toBeNull();
    expect(await checking.authenticate(store.db, key)).not.toBeNull();
    await revoke(id);
    expect(await remembering.authenticate(store.db, key)).not.toBeNull();
    expect(await checking.authenticate(store.db, key)).toBeNull();
    expect(await checking.authenticate(store.db, key)).toBeNull();
  });
});

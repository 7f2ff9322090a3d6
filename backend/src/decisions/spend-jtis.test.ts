import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, TestStores } from '@postern/testkit/databases';
import { openStore } from '../store/open.js';
import { spendJtis, type JtiSpend } from './dpop.js';

describe.each(databaseKinds)('spending DPoP proof ids on %s', (kind) => {
  const stores = new TestStores(kind, openStore);
  afterEach(() => stores.cleanup());

  const spend = (hash: string, expiresAt = new Date('2026-12-02T00:02:01.000Z')): JtiSpend => ({ jtiHash: hash.repeat(64), expiresAt });

  it('answers fresh once per id: the first of two equal ids in a batch, never an id spent before', async () => {
    const store = await stores.fresh();
    const a = spend('a');
    const b = spend('b', new Date('2026-12-02T00:03:00.000Z'));
    const again = spend('a');
    expect(await spendJtis(store.db, [a, b, again])).toEqual([
      { ok: true, value: true },
      { ok: true, value: true },
      { ok: true, value: false },
    ]);
    expect(await spendJtis(store.db, [spend('a'), spend('c')])).toEqual([
      { ok: true, value: false },
      { ok: true, value: true },
    ]);
    const rows = await store.db.selectFrom('dpop_jtis').select(['jti_hash', 'expires_at']).orderBy('jti_hash').execute();
    expect(rows.map((r) => [r.jti_hash[0], new Date(r.expires_at).toISOString()])).toEqual([
      ['a', '2026-12-02T00:02:01.000Z'],
      ['b', '2026-12-02T00:03:00.000Z'],
      ['c', '2026-12-02T00:02:01.000Z'],
    ]);
  });
});

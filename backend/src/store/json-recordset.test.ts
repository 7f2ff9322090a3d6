import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, TestStores } from '@postern/testkit/databases';
import { anyOfUuids, jsonRecordset } from './json-recordset.js';
import { openStore } from './open.js';

describe.each(databaseKinds)('batch recordsets on %s', (kind) => {
  const stores = new TestStores(kind, openStore);
  afterEach(() => stores.cleanup());

  const open = async () => {
    return (await stores.fresh()).db;
  };

  it('reads every row back as it was bound: times to the millisecond, nulls, nested JSON and awkward text', async () => {
    const db = await open();
    const rows = [
      { id: '00000000-0000-4000-8000-000000000001', n: 9_007_199_254_740_991, at: 1_764_627_655.123, maybe: null, text: 'quote " backslash \\ tab \t é 漢 🙂', doc: { a: [1, 'two', { three: null }] } },
      { id: '00000000-0000-4000-8000-000000000002', n: -1, at: 0, maybe: 1_764_627_655, text: '', doc: [] },
    ];
    const read = await db
      .selectFrom(jsonRecordset(rows, 'r', { id: 'uuid', n: 'int8', at: 'timestamptz', maybe: 'timestamptz', text: 'text', doc: 'jsonb' }))
      .selectAll()
      .orderBy('r.id')
      .execute();
    expect(read.map((r) => ({ ...r, n: String(r.n), at: (r.at as Date).getTime(), maybe: r.maybe === null ? null : (r.maybe as Date).getTime() }))).toEqual([
      { id: rows[0]?.id, n: '9007199254740991', at: 1_764_627_655_123, maybe: null, text: rows[0]?.text, doc: rows[0]?.doc },
      { id: rows[1]?.id, n: '-1', at: 0, maybe: 1_764_627_655_000, text: '', doc: [] },
    ]);
  });

  it('refuses text the database cannot store with a data exception (class 22), as a VALUES list did', async () => {
    const db = await open();
    const bad = db.selectFrom(jsonRecordset([{ text: 'nul \u0000 here' }], 'r', { text: 'text' })).selectAll().execute();
    await expect(bad).rejects.toMatchObject({ code: expect.stringMatching(/^22/) });
  });

  it('refuses a NUL or an unpaired surrogate inside a nested JSON value too, with a data exception', async () => {
    const db = await open();
    for (const doc of [{ name: 'nul \u0000 here' }, { list: ['lone \ud800 surrogate'] }, { ['key \udc00']: 1 }]) {
      const bad = db.selectFrom(jsonRecordset([{ doc }], 'r', { doc: 'jsonb' })).selectAll().execute();
      await expect(bad).rejects.toMatchObject({ code: expect.stringMatching(/^22/) });
    }
    const lone = db.selectFrom(jsonRecordset([{ text: 'lone \ud800 surrogate' }], 'r', { text: 'text' })).selectAll().execute();
    await expect(lone).rejects.toMatchObject({ code: expect.stringMatching(/^22/) });
  });

  it('matches rows by a list of ids bound as one parameter, and none for an empty list', async () => {
    const db = await open();
    const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000003'];
    const all = jsonRecordset(
      ['1', '2', '3'].map((n) => ({ id: `00000000-0000-4000-8000-00000000000${n}` })),
      'r',
      { id: 'uuid' },
    );
    expect((await db.selectFrom(all).select('r.id').where('r.id', '=', anyOfUuids(ids)).orderBy('r.id').execute()).map((r) => r.id)).toEqual(ids);
    expect(await db.selectFrom(all).select('r.id').where('r.id', '=', anyOfUuids([])).execute()).toEqual([]);
  });
});

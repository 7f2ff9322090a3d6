import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, TestStores } from '@postern/testkit/databases';
import { openStore } from './open.js';
import { pruneExpired } from './prune.js';

describe.each(databaseKinds)('pruning on %s', (kind) => {
  const stores = new TestStores(kind, openStore);
  afterEach(() => stores.cleanup());

  it('deletes expired proof ids and nonces and report history past its retention, and keeps the rest', async () => {
    const store = await stores.fresh();
    const db = store.db;
    const now = 2_000_000_000;
    const at = (s: number) => new Date(s * 1000);
    await db.insertInto('dpop_jtis').values([{ jti_hash: 'old', expires_at: at(now - 1) }, { jti_hash: 'live', expires_at: at(now + 60) }]).execute();
    await db.insertInto('spent_nonces').values([{ nonce_hash: 'old', expires_at: at(now - 1) }, { nonce_hash: 'live', expires_at: at(now + 60) }]).execute();
    const device = await db
      .insertInto('devices')
      .values({ kid: 'k', public_jwk: '{}', ueid: 'u', machine_id: 'm', hostname: 'h', platform: 'linux', agent_version: '0.1.0', group_name: 'employees', status: 'active' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const report = (seq: number, receivedAt: number) => ({ device_id: device.id, seq, attested_at: at(receivedAt), received_at: at(receivedAt), posture: '{}', verdict: 'compliant', score: 100 });
    await db.insertInto('attestations').values([report(1, now - 31 * 86_400), report(2, now - 29 * 86_400)]).execute();

    await pruneExpired(db, now, { attestationDays: 30, eventDays: 30 });

    expect((await db.selectFrom('dpop_jtis').select('jti_hash').execute()).map((r) => r.jti_hash)).toEqual(['live']);
    expect((await db.selectFrom('spent_nonces').select('nonce_hash').execute()).map((r) => r.nonce_hash)).toEqual(['live']);
    expect((await db.selectFrom('attestations').select('seq').execute()).map((r) => r.seq)).toEqual([2]);
  });
});

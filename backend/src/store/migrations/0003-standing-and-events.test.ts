import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { healthyLinuxPosture } from '@postern/testkit/postures';
import { PolicyCache } from '../../policy-lifecycle/policy-cache.js';
import { ensureDefaultPolicy } from '../../policy-lifecycle/versions.js';
import { sweepDue } from '../../standing/due-sweep.js';
import { openStore } from '../open.js';

describe.each(databaseKinds)('migration 0003 on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.cleanup();
    database = undefined;
  });

  it('gives every existing device a standing from its last evaluation, due at once, and the sweep judges them by today’s rules', async () => {
    database = await testDatabase(kind);
    const old = await openStore({ ...database, migrateUpTo: '0002-policy-versions-exceptions-audit-chain' });
    const reported = randomUUID();
    const pending = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const hourAgo = new Date((now - 3600) * 1000);
    for (const [id, status] of [[reported, 'active'], [pending, 'pending_approval']] as const) {
      await sql`insert into devices (id, kid, public_jwk, ueid, machine_id, hostname, platform, agent_version, group_name, status)
        values (${id}, ${randomUUID()}, '{}', 'u', 'm', 'h', 'linux', '0.1.0', 'employees', ${status})`.execute(old.db);
    }
    // As the previous schema stored it: the judgement beside the posture, a report an hour old.
    await sql`insert into device_posture (device_id, seq, attested_at, received_at, posture, verdict, score, checks, policy_id, evaluated_at)
      values (${reported}, 7, ${hourAgo}, ${hourAgo}, ${JSON.stringify(healthyLinuxPosture(now - 3600))}, 'compliant', 100, '[]', 'default@1', ${hourAgo})`.execute(old.db);
    await old.close();

    const store = await openStore(database);
    try {
      const standings = await store.db.selectFrom('device_standing').selectAll().orderBy('verdict').execute();
      expect(standings.map((s) => [s.device_id, s.verdict, s.score, s.policy_id])).toEqual([
        [reported, 'compliant', 100, 'default@1'],
        [pending, 'pending', 0, 'default@1'],
      ]);
      expect(standings.every((s) => s.next_change_at !== null && s.next_change_at.getTime() <= Date.now())).toBe(true);
      const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'device_posture' order by column_name`.execute(store.db);
      // The judgement columns are gone; os_version is migration 0008's, derived from the posture by the database.
      expect(columns.rows.map((r) => r.column_name)).toEqual(['attested_at', 'device_id', 'os_version', 'posture', 'received_at', 'seq']);

      await ensureDefaultPolicy(store.db);
      const policies = await PolicyCache.load(store.db);
      expect(await sweepDue({ db: store.db, policies, now: () => now + 5 })).toBe(2);
      const events = await store.db.selectFrom('events').select(['type', 'device_id', 'data']).where('type', '=', 'device.verdict_changed').execute();
      // The hour-old report is too old today: one time-driven change, recorded once; the pending device stays pending.
      expect(events).toEqual([{ type: 'device.verdict_changed', device_id: reported, data: expect.objectContaining({ from: 'compliant', to: 'unknown', cause: 'time' }) }]);
      expect(await sweepDue({ db: store.db, policies, now: () => now + 5 })).toBe(0);
    } finally {
      await store.close();
    }
  });
});

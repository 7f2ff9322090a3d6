import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createLogger } from '../logging/logger.js';
import { recordEvents } from '../journal/record.js';
import { openStore, type Store } from '../store/open.js';
import { pruneExpired } from '../store/prune.js';
import { EventConsumer } from './consumer.js';
import type { NewEvent, StreamEvent } from './types.js';

const log = createLogger('silent');
const policyApplied = (version: number): NewEvent => ({
  type: 'policy.applied',
  actor: 'admin:test',
  deviceId: null,
  data: { group: 'contractors', version, policy: `contractors@${version}`, previous: null, author: 'sec', message: 'm', source_sha256: 'x' },
});

describe.each(databaseKinds)('the event stream and its consumers on %s', (kind) => {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  let now = Math.floor(Date.now() / 1000);
  afterEach(async () => {
    await store?.close();
    await database?.cleanup();
    store = database = undefined;
  });
  async function open(): Promise<Store> {
    database = await testDatabase(kind);
    store = await openStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    return store;
  }
  const consumer = (db: Store['db'], seen: StreamEvent[], durable = true) =>
    new EventConsumer(db, { name: 'audit-export', durable, handle: (events) => void seen.push(...events) }, { replicaId: 'r1', log, now: () => now, pollMs: 60_000 });

  it('numbers events without gaps, each with its audit entry, even when many transactions append at once', async () => {
    const { db } = await open();
    await Promise.all(Array.from({ length: 25 }, (_, i) => recordEvents(db, [policyApplied(i + 1), policyApplied(i + 100)])));
    const events = await db.selectFrom('events').select(['seq', 'type', 'data']).orderBy('seq').execute();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const audits = await db.selectFrom('audit_log').select(['kind', 'detail']).orderBy('id').execute();
    expect(audits.map((a) => a.detail)).toEqual(events.map((e) => e.data));
    // Append-only: an event is never rewritten.
    await expect(db.updateTable('events').set({ type: 'x' }).where('seq', '=', 1).execute()).rejects.toThrow(/append-only/);
  });

  it('delivers what was committed while a durable consumer was down once it is back, and never twice', async () => {
    const { db } = await open();
    await recordEvents(db, [policyApplied(1)]);
    const seen: StreamEvent[] = [];
    const first = consumer(db, seen);
    await first.start(); // a new durable consumer starts at the head
    await recordEvents(db, [policyApplied(2)]);
    await first.settle();
    expect(seen.map((e) => e.type === 'policy.applied' && e.data.version)).toEqual([2]);
    await first.stop();

    await recordEvents(db, [policyApplied(3), policyApplied(4)]);
    const again = consumer(db, seen);
    await again.start();
    await again.settle();
    expect(seen.map((e) => e.type === 'policy.applied' && e.data.version)).toEqual([2, 3, 4]);
    await again.stop();

    const third = consumer(db, seen);
    await third.start();
    await third.settle();
    expect(seen).toHaveLength(3);
    expect(third.position).toBe(4);
    await third.stop();
  });

  it('starts a replica’s own consumer at the head and forgets its position when it stops', async () => {
    const { db } = await open();
    await recordEvents(db, [policyApplied(1), policyApplied(2)]);
    const seen: StreamEvent[] = [];
    const own = consumer(db, seen, false);
    await own.start();
    await own.settle();
    expect(seen).toEqual([]);
    expect(own.id).toBe('audit-export@r1');
    await own.stop();
    expect(await db.selectFrom('event_consumers').select('name').execute()).toEqual([]);
  });

  it('prunes old events only once every consumer has passed them', async () => {
    const { db } = await open();
    await recordEvents(db, [policyApplied(1), policyApplied(2), policyApplied(3)]);
    const seen: StreamEvent[] = [];
    const slow = consumer(db, seen);
    await slow.start();
    await slow.stop();
    // As if it had read only the first; set once it has stopped, so its own first read cannot overtake it.
    await db.updateTable('event_consumers').set({ last_seq: 1 }).execute();
    now = Math.floor(Date.now() / 1000) + 40 * 86_400;
    await pruneExpired(db, now, { attestationDays: 30, eventDays: 30 });
    expect((await db.selectFrom('events').select('seq').orderBy('seq').execute()).map((r) => r.seq)).toEqual([2, 3]);
    // A replica's own consumer that stopped heartbeating is a replica that is gone: it holds nothing back.
    await db.updateTable('event_consumers').set({ durable: false }).execute();
    await pruneExpired(db, now, { attestationDays: 30, eventDays: 30 });
    expect(await db.selectFrom('events').select('seq').execute()).toEqual([]);
  });
});

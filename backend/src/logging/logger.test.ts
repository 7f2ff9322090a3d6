import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { startServer, type RunningServer } from '../server.js';
import { openStore, type Store } from '../store/open.js';
import { createLogger } from './logger.js';

/** A logger writing its JSON lines into an array. */
function capture(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger(level, stream), lines, text: () => JSON.stringify(lines) };
}

describe.each(databaseKinds)('log lines on %s', (kind) => {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    await store?.close();
    await database?.cleanup();
    server = store = database = undefined;
  });

  it('log a database error without the values bound to its statement', async () => {
    database = await testDatabase(kind);
    store = await openStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    const secretKid = `kid-${randomUUID()}-not-for-logs`;
    const { log, text } = capture();
    await sql`create table log_probe (kid text primary key, id uuid)`.execute(store.db);
    await sql`insert into log_probe values (${secretKid}, null)`.execute(store.db);
    for (const attempt of [sql`insert into log_probe values (${secretKid}, null)`, sql`insert into log_probe values (${'other'}, ${secretKid})`]) {
      const error = await attempt.execute(store.db).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      log.error({ err: error }, 'request failed');
      log.error({ err: new Error('wrapped', { cause: error }) }, 'request failed');
    }
    const logged = text();
    expect(logged).toContain('log_probe_pkey'); // what locates the fault stays
    expect(logged).toContain('23505');
    expect(logged).not.toContain(secretKid);
  });

  it('log a refused enrollment with its address and code, and an admin action with actor, action and target, never a token', async () => {
    database = await testDatabase(kind);
    const { log, lines, text } = capture();
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false }, { log });
    const adminToken = (await import('node:fs/promises')).readFile(server.adminTokenPath, 'utf8');
    const created = await fetch(`${server.url}/v1/admin/enrollment-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await adminToken).trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ group: 'employees' }),
    });
    const { token } = (await created.json()) as { token: string };
    const guessed = `pet_${'0'.repeat(64)}`;
    expect((await (await FakeDevice.create()).enroll(server.url, guessed)).status).toBe(401);

    expect(lines).toContainEqual(expect.objectContaining({ msg: 'enrollment refused', address: '127.0.0.1', code: 'invalid_token' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'admin action', actor: 'admin:initial', action: 'POST /v1/admin/enrollment-tokens', status: 201 }));
    expect(text()).not.toContain(token);
    expect(text()).not.toContain(guessed);
    expect(text()).not.toContain((await adminToken).trim());
  });
});

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { settingsFromEnv } from '../config.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { installLines } from './lines.js';

describe.each(databaseKinds)('the install lines for the dashboard on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  beforeAll(async () => {
    database = await testDatabase(kind);
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false, settings: settingsFromEnv({}) }, { log: createLogger('silent') });
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await database?.cleanup();
  });

  it('answers what `token create --install` prints for this server, and only to an admin', async () => {
    const auth = { authorization: `Bearer ${(await readFile(server.adminTokenPath, 'utf8')).trim()}` };
    const answer = await fetch(`${server.url}/v1/admin/install-lines`, { headers: auth });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ server: server.url, lines: installLines(server.url) });
    expect((await fetch(`${server.url}/v1/admin/install-lines`)).status).toBe(401);
  });
});

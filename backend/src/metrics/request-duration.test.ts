import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

describe('request duration metrics', () => {
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    database = await testDatabase('pglite');
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: undefined, publicUrl: undefined, trustProxy: false }, { log: createLogger('silent') });
  });
  afterAll(async () => {
    await server?.close();
    await database?.cleanup();
  });

  it('times each request by method, route template and status, never by the raw URL', async () => {
    const admin = { authorization: `Bearer ${(await readFile(server.adminTokenPath, 'utf8')).trim()}` };
    const id = randomUUID();
    expect((await fetch(`${server.url}/v1/admin/devices/${id}`, { headers: admin })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/admin/devices/${randomUUID()}`, { headers: admin })).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/scanner/${id}`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })).status).toBe(400);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    const count = (labels: string) => Number(new RegExp(`^postern_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count('method="GET",route="/v1/admin/devices/:id",status="404"')).toBe(2);
    expect(count('method="GET",route="/healthz",status="200"')).toBe(1);
    expect(count('method="POST",route="/v1/enroll",status="400"')).toBe(1);
    expect(count('method="GET",route="unmatched",status="404"')).toBe(1);
    expect(text).toMatch(/^postern_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/healthz",status="200"\} \d+$/m);
    expect(text).not.toContain(id);
  });
});

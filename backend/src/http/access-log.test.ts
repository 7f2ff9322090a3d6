import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

/** A logger at `level` whose lines are kept, parsed. */
function keptLog(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger(level, destination), lines };
}

describe('the access log', () => {
  let database: TestDatabase | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    await database?.cleanup();
  });
  const start = async (level: string) => {
    const kept = keptLog(level);
    database = await testDatabase('pglite');
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: undefined, publicUrl: undefined, trustProxy: false }, { log: kept.log });
    return { url: server.url, lines: kept.lines };
  };

  it('at debug, names each request by its route template and status, never by the raw path', async () => {
    const { url, lines } = await start('debug');
    const id = randomUUID();
    expect((await fetch(`${url}/v1/devices/${id}/compliance`)).status).toBe(401);
    expect((await fetch(`${url}/scanner/${id}`)).status).toBe(404);
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests).toEqual([
      expect.objectContaining({ method: 'GET', route: '/v1/devices/:id/compliance', status: 401, ms: expect.any(Number) }),
      expect.objectContaining({ method: 'GET', route: 'unmatched', status: 404 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(id);
  });

  it('above debug, writes no line per request', async () => {
    const { url, lines } = await start('info');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(lines.filter((l) => l.msg === 'request')).toEqual([]);
  });
});

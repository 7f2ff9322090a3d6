import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { verifyAuditChain } from '../audit/verify.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

describe.each(databaseKinds)('gateway keys listed and revoked on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let adminToken: string;

  beforeAll(async () => {
    database = await testDatabase(kind);
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false }, { log: createLogger('silent') });
    adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
  });
  afterAll(async () => {
    await server?.close();
    await database?.cleanup();
  });

  const admin = async <T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as T };
  };
  // An unknown device is a 404 for an accepted key, a 401 for a refused one.
  const ask = async (key: string) => (await fetch(`${server.url}/v1/devices/00000000-0000-4000-8000-000000000000/compliance`, { headers: { authorization: `Bearer ${key}` } })).status;

  it('lists keys without their secret, and a revoked key is refused at once, with its audit entry and event', async () => {
    const made = (await admin<{ key: string; id: string }>('POST', '/v1/admin/gateway-keys', { name: 'edge-eu' })).body;
    expect(await ask(made.key)).toBe(404);
    expect(await ask(made.key)).toBe(404); // now from memory
    const listed = await admin<{ keys: Array<Record<string, unknown>> }>('GET', '/v1/admin/gateway-keys');
    expect(listed.body.keys).toEqual([expect.objectContaining({ id: made.id, name: 'edge-eu', scopes: ['authz'], revoked_at: null })]);
    expect(JSON.stringify(listed.body)).not.toContain(made.key.split('_').at(-1));

    expect((await admin('POST', `/v1/admin/gateway-keys/${made.id}/revoke`)).body).toMatchObject({ id: made.id, revoked_at: expect.any(Number) });
    expect(await ask(made.key)).toBe(401);
    expect((await admin('POST', `/v1/admin/gateway-keys/${made.id}/revoke`)).status).toBe(200); // revoking again changes nothing
    expect((await admin('POST', '/v1/admin/gateway-keys/00000000-0000-4000-8000-000000000000/revoke')).body).toMatchObject({ code: 'not_found' });
    expect((await admin<{ keys: unknown[] }>('GET', '/v1/admin/gateway-keys')).body.keys).toEqual([]);
    expect((await admin<{ keys: unknown[] }>('GET', '/v1/admin/gateway-keys?all=1')).body.keys).toHaveLength(1);

    const events = await server.store.db.selectFrom('events').select(['type', 'actor', 'data']).where('type', '=', 'gateway_key.revoked').execute();
    expect(events).toEqual([{ type: 'gateway_key.revoked', actor: 'admin:initial', data: { gateway_key_id: made.id, name: 'edge-eu' } }]);
    expect((await verifyAuditChain(server.store.db)).ok).toBe(true);
  });
});

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { healthyLinuxPosture, unencryptedLinuxPosture } from '@postern/testkit/postures';
import { settingsFromEnv } from '../config.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

describe.each(databaseKinds)('the compliance API on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let adminToken: string;
  let gatewayKey: string;
  let device: FakeDevice;

  const admin = async <T>(path: string, body: unknown): Promise<T> => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(201);
    return (await response.json()) as T;
  };
  const ask = (id: string, init: { method?: string; key?: string | null } = {}) =>
    fetch(`${server.url}/v1/devices/${id}/compliance`, { method: init.method ?? 'GET', headers: init.key === null ? {} : { authorization: `Bearer ${init.key ?? gatewayKey}` } });
  const settle = async () => {
    for (const consumer of server.consumers) await consumer.settle();
  };

  beforeAll(async () => {
    database = await testDatabase(kind);
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false, settings: settingsFromEnv({}) }, { log: createLogger('silent') });
    adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
    gatewayKey = (await admin<{ key: string }>('/v1/admin/gateway-keys', { name: 'edge' })).key;
    const { token } = await admin<{ token: string }>('/v1/admin/enrollment-tokens', { group: 'employees', uses: 1 });
    device = await FakeDevice.create({ platform: 'linux' });
    expect((await device.enroll(server.url, token)).status).toBe(201);
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await database?.cleanup();
  });

  it('answers the standing as JSON, the same text while it holds and a new one as soon as it changes', async () => {
    const first = await device.report(server.url, healthyLinuxPosture());
    first.session.close();
    await settle();
    const healthy = await ask(device.deviceId);
    expect(healthy.status).toBe(200);
    expect(healthy.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(healthy.headers.get('cache-control')).toBe('no-store');
    expect(healthy.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await healthy.text();
    expect(healthy.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    const body = JSON.parse(text) as { device_id: string; verdict: string; checks: Array<{ id: string; status: string }> };
    expect(body).toMatchObject({ device_id: device.deviceId, verdict: 'compliant', policy: 'default@1' });
    expect(body.checks.length).toBeGreaterThan(0);
    expect(await (await ask(device.deviceId)).text()).toBe(text);

    const second = await device.report(server.url, unencryptedLinuxPosture());
    second.session.close();
    await settle();
    const changed = (await (await ask(device.deviceId)).json()) as typeof body;
    expect(changed.verdict).not.toBe('compliant');
    expect(changed.checks.find((c) => c.id.startsWith('disk_encryption'))?.status).toBe('fail');
  });

  it('refuses a request without a key or with a key that is not one, with the RFC 6750 challenges, as problem details', async () => {
    const keyless = await ask(device.deviceId, { key: null });
    expect(keyless.status).toBe(401);
    expect(keyless.headers.get('www-authenticate')).toBe('Bearer');
    expect(keyless.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(keyless.headers.get('cache-control')).toBe('no-store');
    expect(await keyless.json()).toMatchObject({ code: 'unauthorized', status: 401 });
    const forged = `${gatewayKey.slice(0, -1)}${gatewayKey.endsWith('0') ? '1' : '0'}`;
    const wrong = await ask(device.deviceId, { key: forged });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });

  it('answers 404 problem details for an unknown device, 405 with Allow for another method, and leaves other routes as they were', async () => {
    const unknown = await ask('00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'unknown_device' });
    const posted = await ask(device.deviceId, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toMatch(/GET/);
    expect(await posted.json()).toMatchObject({ code: 'method_not_allowed' });
    const options = await ask(device.deviceId, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toMatch(/GET/);
    const nowhere = await fetch(`${server.url}/v1/devices/${device.deviceId}/nothing`);
    expect(nowhere.status).toBe(404);
    expect(await nowhere.json()).toMatchObject({ code: 'not_found' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

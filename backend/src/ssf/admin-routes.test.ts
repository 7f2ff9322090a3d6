import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { settingsFromEnv } from '../config.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import type { AdminSsfStream } from './admin-routes.js';
import { DELIVERY, EVENT } from './event-types.js';
import { parseAllowList } from './push-address.js';

async function until(condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('the condition did not hold in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(databaseKinds)('the admin list of SSF streams on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let receiver: Server;
  let hook: string;
  let auth: Record<string, string>;
  let pollId: string;
  let pushId: string;
  const list = async (headers: Record<string, string>) => fetch(`${server.url}/v1/admin/ssf/streams`, { headers });
  const streams = async () => ((await (await list(auth)).json()) as { streams: AdminSsfStream[] }).streams;
  const adminPost = async <T>(path: string, body: unknown): Promise<T> => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    // A receiver that refuses every SET: the push stream goes unhealthy after one attempt.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?k=query-secret`;
    database = await testDatabase(kind);
    server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false, settings: settingsFromEnv({}), ssf: { maxAttempts: 1, retryMaxS: 1, allow: parseAllowList('127.0.0.1', 'POSTERN_SSF_PUSH_ALLOW_HOSTS') } },
      { log: createLogger('silent') },
    );
    auth = { authorization: `Bearer ${(await readFile(server.adminTokenPath, 'utf8')).trim()}` };
    const key = await adminPost<{ key: string }>('/v1/admin/gateway-keys', { name: 'siem-eu', scopes: ['ssf'] });
    const asReceiver = (body: unknown) => fetch(`${server.url}/ssf/streams`, { method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const poll = await asReceiver({ description: 'SIEM poll' });
    expect(poll.status).toBe(201);
    pollId = ((await poll.json()) as { stream_id: string }).stream_id;
    const push = await asReceiver({ delivery: { method: DELIVERY.push, endpoint_url: hook, authorization_header: 'Bearer receiver-secret' }, events_requested: [EVENT.deviceComplianceChange] });
    expect(push.status).toBe(201);
    pushId = ((await push.json()) as { stream_id: string }).stream_id;
    // A device whose first report changes its verdict: a SET for each stream.
    const device = await FakeDevice.create({ platform: 'linux' });
    const token = await adminPost<{ token: string }>('/v1/admin/enrollment-tokens', { group: 'employees' });
    expect((await device.enroll(server.url, token.token)).status).toBe(201);
    (await device.report(server.url, fakePosture({ platform: 'linux' }))).session.close();
    for (const consumer of server.consumers) await consumer.settle();
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await database?.cleanup();
    receiver?.close();
  });

  it('lists every stream with its receiver, delivery and what waits for it', async () => {
    await until(async () => ((await streams()).find((s) => s.stream_id === pollId)?.waiting ?? 0) > 0);
    const all = await streams();
    expect(all.map((s) => s.stream_id)).toEqual([pollId, pushId]);
    const poll = all[0] as AdminSsfStream;
    expect(poll).toMatchObject({ receiver: 'siem-eu', receiver_revoked: false, delivery_method: DELIVERY.poll, endpoint_host: new URL(server.url).host, status: 'enabled', description: 'SIEM poll', failing_since: null, last_error: null });
    expect(poll.events_requested.length).toBeGreaterThan(1);
    expect(poll.oldest_waiting_at).toEqual(expect.any(Number));
  });

  it('shows a failing push stream as failing, with the last error, and its endpoint as a host only', async () => {
    await until(async () => (await streams()).find((s) => s.stream_id === pushId)?.failing_since != null);
    const push = (await streams()).find((s) => s.stream_id === pushId) as AdminSsfStream;
    expect(push).toMatchObject({ delivery_method: DELIVERY.push, endpoint_host: new URL(hook).host, events_requested: [EVENT.deviceComplianceChange] });
    expect(push.last_error).toMatch(/500/);
    expect(push.waiting).toBeGreaterThan(0);
    // Neither the push authorization header nor the URL's path or query reach an admin.
    const text = await (await list(auth)).text();
    expect(text).not.toContain('receiver-secret');
    expect(text).not.toContain('query-secret');
    expect(text).not.toContain('/hook');
  });

  it('is a read for viewers, refused without an admin credential', async () => {
    const made = await fetch(`${server.url}/v1/admin/admins`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vera', role: 'viewer' }) });
    expect(made.status).toBe(201);
    const token = await adminPost<{ token: string }>('/v1/admin/admins/vera/tokens', { name: 'test' });
    const asViewer = await list({ authorization: `Bearer ${token.token}` });
    expect(asViewer.status).toBe(200);
    expect(asViewer.headers.get('cache-control')).toBe('no-store');
    expect(((await asViewer.json()) as { streams: unknown[] }).streams).toHaveLength(2);
    const anonymous = await list({});
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'unauthorized' });
  });
});

import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type DatabaseKind, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { unencryptedLinuxPosture } from '@postern/testkit/postures';
import { createEnrollmentToken } from '../enrollment/tokens.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { decideMany, decidePage } from './decide.js';
import { StandingCache } from './standing-cache.js';

describe.each(databaseKinds)('the decision cache on %s', (kind: DatabaseKind) => {
  let database: TestDatabase | undefined;
  const servers: RunningServer[] = [];
  const caches: StandingCache[] = [];
  let clock = Math.floor(Date.now() / 1000);
  /** One server for the file (each test enrolls its own devices); a test that needs a replica starts one. */
  let server: RunningServer;

  async function start(): Promise<RunningServer> {
    database ??= await testDatabase(kind);
    const started = await startServer(
      // Replicas share one public URL: the issuer of the result tokens.
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir + (servers.length ? `-replica${servers.length}` : ''), databaseUrl: database.databaseUrl, publicUrl: 'https://postern.example', trustProxy: false },
      { log: createLogger('silent'), now: () => clock },
    );
    servers.push(started);
    return started;
  }
  beforeAll(async () => {
    server = await start();
  });
  // Fake devices sign with the real clock.
  beforeEach(() => {
    clock = Math.floor(Date.now() / 1000);
  });
  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.stop();
    for (const replica of servers.splice(1).reverse()) await replica.close();
  });
  afterAll(async () => {
    for (const s of servers.splice(0).reverse()) await s.close();
    await database?.cleanup();
  });

  /** A second cache on the server's database whose reads are counted: what a replica's cache does, observed. */
  async function countingCache(options: { beforeRead?: () => Promise<void>; beforeRefill?: () => Promise<void> } = {}) {
    const reads: string[] = [];
    const refills: string[][] = [];
    const db = server.store.db;
    const cache = new StandingCache(
      db,
      {
        read: async (deviceId) => {
          reads.push(deviceId);
          await options.beforeRead?.();
          return (await decideMany(db, [{ deviceId }]))[0] ?? null;
        },
        readMany: async (deviceIds) => {
          refills.push([...deviceIds]);
          await options.beforeRefill?.();
          return decideMany(db, deviceIds.map((deviceId) => ({ deviceId })));
        },
        readPage: (after, limit) => decidePage(db, after, limit),
        maxEntries: 1000,
        maxAgeS: 120,
        now: () => clock,
      },
      { replicaId: `test-${caches.length}`, log: createLogger('silent'), now: () => clock, pollMs: 50 },
    );
    caches.push(cache);
    return { cache, reads, refills };
  }

  async function enrolled(at: RunningServer, posture?: Parameters<FakeDevice['report']>[1], group = 'employees') {
    const { token } = await createEnrollmentToken(at.store.db, { group, uses: 1, expiresInS: 3600, deviceTtlS: null, owner: null, approval: false, actor: 'admin:test' }, clock);
    const device = await FakeDevice.create();
    expect((await device.enroll(at.url, token)).status).toBe(201);
    const { session, answer } = await device.report(at.url, posture);
    if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
    return { device, session, result: answer.token };
  }

  async function authz(at: RunningServer, device: FakeDevice, token: string) {
    const url = `${at.url}/v1/authz`;
    const response = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(url, token) } });
    return { status: response.status, cacheControl: response.headers.get('cache-control'), body: (await response.json()) as Record<string, unknown> };
  }

  async function revoke(at: RunningServer, deviceId: string): Promise<void> {
    const adminToken = (await readFile(at.adminTokenPath, 'utf8')).trim();
    const response = await fetch(`${at.url}/v1/admin/devices/${deviceId}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(response.status).toBe(200);
  }

  const headSeq = async (at: RunningServer) => Number((await at.store.db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0);

  it('starts with the standings already stored, read from the snapshot taken after its stream position', async () => {
    const { device } = await enrolled(server);
    const { cache, reads } = await countingCache();
    await cache.start();
    expect(cache.position).toBe(await headSeq(server));
    expect(cache.peek(device.deviceId)?.standing).toMatchObject({ verdict: 'compliant', device: { id: device.deviceId, kid: device.kid, status: 'active', hostname: device.hostname } });
    expect(await cache.get(device.deviceId)).toMatchObject({ verdict: 'compliant', score: 100 });
    expect(reads).toEqual([]);
  });

  it('reads a device it has not seen once, however many ask at once, and keeps it', async () => {
    const { cache, reads } = await countingCache();
    await cache.start();
    const { device } = await enrolled(server);
    await cache.consumer.settle();
    const answers = await Promise.all([cache.get(device.deviceId), cache.get(device.deviceId), cache.get(device.deviceId)]);
    expect(answers.map((a) => a?.verdict)).toEqual(['compliant', 'compliant', 'compliant']);
    expect(reads).toEqual([device.deviceId]);
    expect(await cache.get(device.deviceId)).toMatchObject({ verdict: 'compliant' });
    expect(reads).toHaveLength(1);
    // An unknown id is answered null and not kept.
    expect(await cache.get('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(cache.peek('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('drops an entry when its device’s event arrives and reads it again in the background, so the next request answers the new verdict from memory', async () => {
    const { device, session } = await enrolled(server);
    const { cache, reads, refills } = await countingCache();
    await cache.start();
    expect(cache.peek(device.deviceId)?.standing.verdict).toBe('compliant');
    const answer = await session.attest(await device.evidence(session.nonce, { posture: unencryptedLinuxPosture() }));
    expect(answer).toMatchObject({ type: 'result', verdict: 'noncompliant' });
    session.close();
    await cache.consumer.settle();
    expect(cache.position).toBe(await headSeq(server));
    await cache.refilled();
    expect(refills).toContainEqual([device.deviceId]);
    expect(cache.peek(device.deviceId)?.standing).toMatchObject({ verdict: 'noncompliant' });
    expect(await cache.get(device.deviceId)).toMatchObject({ verdict: 'noncompliant', checks: expect.arrayContaining([expect.objectContaining({ id: 'disk_encryption.system_volume', status: 'fail' })]) });
    expect(reads).toEqual([]);
  });

  it('does not read again a device it did not hold when that device’s event arrives', async () => {
    const { cache, refills } = await countingCache();
    await cache.start();
    const { device } = await enrolled(server);
    await cache.consumer.settle();
    await cache.refilled();
    expect(refills.flat()).not.toContain(device.deviceId);
    expect(cache.peek(device.deviceId)).toBeUndefined();
  });

  it('does not keep a background read that was under way when the device’s next event was applied', async () => {
    const { device } = await enrolled(server);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { cache } = await countingCache({ beforeRefill: () => (calls++ === 0 ? gate : Promise.resolve()) });
    await cache.start();
    await revoke(server, device.deviceId);
    await cache.consumer.settle();
    // The refill for the revocation is held; meanwhile a request reads the device and keeps it.
    expect(await cache.get(device.deviceId)).toMatchObject({ verdict: 'revoked' });
    cache.evict(device.deviceId);
    release();
    await cache.refilled();
    expect(cache.peek(device.deviceId)).toBeUndefined();
  });

  it('drops the entries of a group whose policy changes, and only those', async () => {
    const { device: contractor } = await enrolled(server, undefined, 'contractors');
    const { device: employee } = await enrolled(server);
    const { cache, reads, refills } = await countingCache();
    await cache.start();
    expect(cache.peek(contractor.deviceId)?.standing.policy).toMatch(/^default@/);
    const adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
    const applied = await fetch(`${server.url}/v1/admin/policies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'postern_policy: 1\ngroup: contractors\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 10\n    enforcement: block\n', filename: 'contractors.yaml', message: 'firewall only' }),
    });
    expect(applied.status).toBe(201);
    await cache.consumer.settle();
    await cache.refilled();
    // Evicted, not read again in the background: its group is judged again after the event.
    expect(refills.flat()).not.toContain(contractor.deviceId);
    expect(cache.peek(contractor.deviceId)).toBeUndefined();
    expect(cache.peek(employee.deviceId)?.standing.policy).toMatch(/^default@/);
    expect(await cache.get(contractor.deviceId)).toMatchObject({ verdict: 'compliant', policy: 'contractors@1', score: 100 });
    expect(reads).toEqual([contractor.deviceId]);
  });

  it('does not keep a read that was under way when its device’s event was applied', async () => {
    const { device } = await enrolled(server);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { cache } = await countingCache({ beforeRead: () => gate });
    await cache.consumer.start();
    const pending = cache.get(device.deviceId);
    await new Promise((r) => setTimeout(r, 20));
    cache.evict(device.deviceId);
    release();
    expect(await pending).toMatchObject({ verdict: 'compliant' });
    expect(cache.peek(device.deviceId)).toBeUndefined();
    // A read begun after the eviction is kept.
    await cache.get(device.deviceId);
    expect(cache.peek(device.deviceId)?.standing.verdict).toBe('compliant');
  });

  it('reads an entry again once its standing may have changed by itself', async () => {
    const { device } = await enrolled(server);
    const { cache, reads } = await countingCache();
    await cache.start();
    const expiresAt = cache.peek(device.deviceId)?.standing.expires_at;
    expect(expiresAt).toBeGreaterThan(clock);
    await cache.get(device.deviceId);
    expect(reads).toHaveLength(0);
    clock = expiresAt as number;
    await cache.get(device.deviceId);
    expect(reads).toEqual([device.deviceId]);
  });

  it('reads an entry again in the background once it is old, answering from memory meanwhile', async () => {
    const { device } = await enrolled(server);
    const { cache, reads } = await countingCache();
    await cache.start();
    const loadedAt = cache.peek(device.deviceId)?.loadedAt as number;
    clock = loadedAt + 120;
    await cache.consumer.settle();
    expect(cache.consumer.caughtUpAt).toBe(clock);
    expect(await cache.get(device.deviceId)).toMatchObject({ verdict: 'compliant' });
    expect(reads).toEqual([device.deviceId]);
    const deadline = Date.now() + 5000;
    while (cache.peek(device.deviceId)?.loadedAt === loadedAt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(cache.peek(device.deviceId)?.loadedAt).toBe(clock);
  });

  it('refuses a revoked device at once, and answers no-store', async () => {
    const { device, result } = await enrolled(server);
    // Its enrollment's events are applied first: one applied after the read would drop the entry.
    await server.backend.standings.consumer.settle();
    const allowed = await authz(server, device, result);
    expect(allowed).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(server.backend.standings.peek(device.deviceId)?.standing.verdict).toBe('compliant');
    await revoke(server, device.deviceId);
    await server.backend.standings.consumer.settle();
    const refused = await authz(server, device, result);
    expect(refused).toMatchObject({ status: 403, cacheControl: 'no-store', body: { code: 'not_compliant', verdict: 'revoked' } });
  });

  it.runIf(kind === 'postgresql')('refuses on replica B a device revoked on replica A once B’s cache has passed the revocation', async () => {
    const a = server;
    const b = await start();
    const { device, result } = await enrolled(a);
    expect((await authz(b, device, result)).status).toBe(200);
    await revoke(a, device.deviceId);
    const revokedAt = await headSeq(a);
    const deadline = Date.now() + 10_000;
    while (b.backend.standings.position < revokedAt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(b.backend.standings.position).toBeGreaterThanOrEqual(revokedAt);
    expect(await authz(b, device, result)).toMatchObject({ status: 403, body: { verdict: 'revoked' } });
  });

  it('answers the compliance API from the cache, no-store on success and on error', async () => {
    const { device } = await enrolled(server);
    const adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
    const created = await fetch(`${server.url}/v1/admin/gateway-keys`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'gw' }) });
    const { key } = (await created.json()) as { key: string };
    const ok = await fetch(`${server.url}/v1/devices/${device.deviceId}/compliance`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(await ok.json()).toMatchObject({ device_id: device.deviceId, verdict: 'compliant' });
    const unknown = await fetch(`${server.url}/v1/devices/00000000-0000-4000-8000-000000000000/compliance`, { headers: { authorization: `Bearer ${key}` } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('cache-control')).toBe('no-store');
    const unauthorized = await fetch(`${server.url}/v1/devices/${device.deviceId}/compliance`);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('cache-control')).toBe('no-store');
  });
});

import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash } from '@postern/shared';
import { databaseKinds, testDatabase, type DatabaseKind, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { createEnrollmentToken } from '../enrollment/tokens.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';
import type { DpopNonceMode } from './dpop-nonce.js';

describe.each(databaseKinds)('the DPoP replay record with replica-bound and shared nonces on %s', { timeout: 120_000 }, (kind: DatabaseKind) => {
  let database: TestDatabase;
  const running: RunningServer[] = [];

  beforeAll(async () => {
    database = await testDatabase(kind);
  });
  afterEach(async () => {
    for (const s of running.splice(0).reverse()) await s.close();
  });
  afterAll(() => database?.cleanup());

  /** A replica on the test's database; `n` > 0 gives it its own data directory, as replicas have. */
  async function replica(mode: DpopNonceMode, n = 0): Promise<RunningServer> {
    const started = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir + (n ? `-replica${n}` : ''), databaseUrl: database.databaseUrl, publicUrl: 'https://postern.example', trustProxy: false, dpopNonce: mode },
      { log: createLogger('silent') },
    );
    running.push(started);
    return started;
  }

  async function enrolled(at: RunningServer) {
    const { token } = await createEnrollmentToken(at.store.db, { group: 'employees', uses: 1, expiresInS: 3600, deviceTtlS: null, owner: null, approval: false, actor: 'admin:test' }, Math.floor(Date.now() / 1000));
    const device = await FakeDevice.create();
    expect((await device.enroll(at.url, token)).status).toBe(201);
    const { session, answer } = await device.report(at.url);
    session.close();
    if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
    return { device, result: answer.token };
  }

  /** A proof for GET <server>/v1/authz, with `nonce` when given; every replica shares the path, so one proof fits each. */
  const proof = (device: FakeDevice, token: string, nonce?: string, jti = randomUUID()) =>
    new SignJWT({ jti, htm: 'GET', htu: 'http://postern.invalid/v1/authz', iat: Math.floor(Date.now() / 1000), ath: accessTokenHash(token), ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: device.publicJwk })
      .sign(device.privateKey);

  // Every replica is asked as the same host, so a proof's htu fits each of them.
  const ask = (at: RunningServer, token: string, dpop: string) =>
    new Promise<{ status: number; code?: string; detail?: string; nonce: string | null; challenge: string | null }>((resolve, reject) => {
      const url = new URL(`${at.url}/v1/authz`);
      const request = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'postern.invalid', authorization: `DPoP ${token}`, dpop } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string; detail?: string };
          const header = (name: string) => (typeof response.headers[name] === 'string' ? (response.headers[name] as string) : null);
          resolve({ status: response.statusCode ?? 0, ...body, nonce: header('dpop-nonce'), challenge: header('www-authenticate') });
        });
      });
      request.on('error', reject);
      request.end();
    });

  const spentInDatabase = async (at: RunningServer) => Number((await at.store.db.selectFrom('dpop_jtis').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('asks for its own nonce, accepts a proof carrying it once, and keeps the record in memory only', async () => {
    const server = await replica('replica');
    const { device, result } = await enrolled(server);
    const before = await spentInDatabase(server);
    const asked = await ask(server, result, await proof(device, result));
    expect(asked).toMatchObject({ status: 401, code: 'use_dpop_nonce', nonce: expect.stringMatching(/^[A-Za-z0-9_-]{27}$/) });
    expect(asked.challenge).toMatch(/^DPoP error="use_dpop_nonce", /);
    const once = await proof(device, result, asked.nonce ?? '');
    expect(await ask(server, result, once)).toMatchObject({ status: 200, nonce: asked.nonce });
    expect(await ask(server, result, once)).toMatchObject({ status: 401, code: 'invalid_dpop_proof', detail: expect.stringMatching(/already used/) });
    expect(await spentInDatabase(server)).toBe(before);
  });

  it('refuses, after a restart, every proof made with a nonce of the run before: the record it lost cannot be replayed against', async () => {
    const first = await replica('replica');
    const { device, result } = await enrolled(first);
    const { nonce } = await ask(first, result, await proof(device, result));
    const used = await proof(device, result, nonce ?? '');
    expect((await ask(first, result, used)).status).toBe(200);
    const unused = await proof(device, result, nonce ?? '');
    await running.splice(0, 1)[0]?.close();

    const restarted = await replica('replica');
    for (const p of [used, unused]) {
      const refused = await ask(restarted, result, p);
      expect(refused).toMatchObject({ status: 401, code: 'use_dpop_nonce', detail: expect.stringMatching(/not this server's current one/) });
      expect(refused.nonce).not.toBe(nonce);
    }
    expect((await ask(restarted, result, await proof(device, result, (await ask(restarted, result, used)).nonce ?? ''))).status).toBe(200);
  });

  it.runIf(kind === 'postgresql')('sends a proof made for one replica back from another with that replica’s nonce, and a proof accepted by one is never accepted by another', async () => {
    const a = await replica('replica');
    const b = await replica('replica', 1);
    const { device, result } = await enrolled(a);
    const nonceA = (await ask(a, result, await proof(device, result))).nonce ?? '';
    const forA = await proof(device, result, nonceA);
    expect((await ask(a, result, forA)).status).toBe(200);
    const atB = await ask(b, result, forA);
    expect(atB).toMatchObject({ status: 401, code: 'use_dpop_nonce' });
    expect(atB.nonce).not.toBe(nonceA);
    // The client signs with the nonce it was given, as RFC 9449 §8 asks: that replica accepts it.
    expect((await ask(b, result, await proof(device, result, atB.nonce ?? ''))).status).toBe(200);
  });

  it.runIf(kind === 'postgresql')('with shared nonces spends proof ids in the database: one accepted by a replica is refused by every other', async () => {
    const a = await replica('shared');
    const b = await replica('shared', 1);
    const { device, result } = await enrolled(a);
    const nonce = (await ask(a, result, await proof(device, result))).nonce ?? '';
    expect((await ask(b, result, await proof(device, result))).nonce).toBe(nonce);
    const once = await proof(device, result, nonce);
    expect((await ask(a, result, once)).status).toBe(200);
    expect(await ask(b, result, once)).toMatchObject({ status: 401, code: 'invalid_dpop_proof', detail: expect.stringMatching(/already used/) });
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createGatewayKey } from '../gateways/gateway-keys.js';
import { createLogger } from '../logging/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { openStore, type Store } from '../store/open.js';
import { DELIVERY } from './event-types.js';
import { ssfMetrics } from './metrics.js';
import { enqueueSets } from './outbox.js';
import { parseAllowList } from './push-address.js';
import { PushDelivery } from './push-delivery.js';
import { verificationEvent } from './set.js';
import { loadSsfKeys } from './signing-key.js';
import { createStream, findStream } from './streams.js';

/** A receiver that answers each POST with the next of `answers` (then 202), recording the SETs' states. */
async function scriptedReceiver(answers: Array<{ status: number; body?: string }>): Promise<{ url: string; states: string[]; server: Server }> {
  const states: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const claims = decodeJwt(body) as { events: Record<string, { state?: string }> };
      states.push(Object.values(claims.events)[0]?.state ?? '');
      const answer = answers.shift() ?? { status: 202 };
      res.writeHead(answer.status, answer.body ? { 'content-type': 'application/json' } : {}).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`, states, server };
}

async function until(condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('the condition did not hold in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(databaseKinds)('pushing a stream’s outbox on %s', (kind) => {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  let delivery: PushDelivery | undefined;
  let receiver: Server | undefined;
  afterEach(async () => {
    await delivery?.stop();
    receiver?.close();
    await store?.close();
    await database?.cleanup();
  });

  async function setUp(answers: Array<{ status: number; body?: string }>) {
    database = await testDatabase(kind);
    store = await openStore(database);
    const { db } = store;
    const scripted = await scriptedReceiver(answers);
    receiver = scripted.server;
    const allow = parseAllowList('127.0.0.1', 'POSTERN_SSF_PUSH_ALLOW_HOSTS');
    const key = await createGatewayKey(db, 'okta', 'admin:test', ['ssf']);
    const gateway = { id: key.id, name: key.name, scopes: key.scopes };
    const stream = await createStream(db, gateway, { delivery: { method: DELIVERY.push, endpoint_url: scripted.url } }, allow);
    const keys = await loadSsfKeys(db);
    const now = Math.floor(Date.now() / 1000);
    await db.transaction().execute((trx) => enqueueSets(trx, keys, 'https://postern.test', now, ['one', 'two', 'three'].map((state) => ({ stream, event: verificationEvent(stream.id, state) }))));
    const metrics = ssfMetrics(createMetrics(), db);
    delivery = new PushDelivery(db, { maxAttempts: 2, retryMaxS: 1, allow }, metrics, createLogger('silent'));
    const pending = async () => Number((await db.selectFrom('ssf_outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n);
    return { db, stream, gateway, states: scripted.states, metrics, pending };
  }

  it('sends SETs one after another in order, retrying a failed one before the next, and marks the stream failing meanwhile', { timeout: 60_000 }, async () => {
    const { db, stream, gateway, states, metrics, pending } = await setUp([{ status: 503 }, { status: 500 }]);
    delivery?.start();
    await until(async () => (await findStream(db, gateway, stream.id)).failing_since !== null);
    const failing = await findStream(db, gateway, stream.id);
    expect(failing.last_error).toMatch(/attempt 2 of SET .* failed: the receiver answered 500/);
    const head = await db.selectFrom('ssf_outbox').select(['attempts', 'next_attempt_at', 'last_error']).orderBy('id').executeTakeFirstOrThrow();
    expect(head.attempts).toBe(2);
    expect(head.next_attempt_at.getTime()).toBeGreaterThan(Date.now() - 1_000);
    await until(async () => (await pending()) === 0);
    expect(states).toEqual(['one', 'one', 'one', 'two', 'three']);
    expect(await findStream(db, gateway, stream.id)).toMatchObject({ failing_since: null, last_error: null });
    const counted = await metrics.deliveries.get();
    expect(Object.fromEntries(counted.values.map((v) => [v.labels.result, v.value]))).toEqual({ failed: 2, delivered: 3 });
  });

  it('drops a SET the receiver refuses with an RFC 8935 error, and goes on with the next', { timeout: 60_000 }, async () => {
    const { states, metrics, pending } = await setUp([{ status: 400, body: '{"err":"invalid_audience","description":"not for us"}' }]);
    delivery?.start();
    await until(async () => (await pending()) === 0);
    expect(states).toEqual(['one', 'two', 'three']);
    const counted = await metrics.deliveries.get();
    expect(Object.fromEntries(counted.values.map((v) => [v.labels.result, v.value]))).toEqual({ rejected: 1, delivered: 2 });
  });
});

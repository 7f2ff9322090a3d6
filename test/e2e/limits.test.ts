import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBPROTOCOL } from '@postern/shared';
import { FakeDevice } from '@postern/testkit/fake-device';
import { ServerProcess } from '@postern/testkit/server-process';

// Every client address is on loopback: 127.0.0.0/8 is the host's own, so binding a client socket
// to 127.0.0.N gives the server N distinct addresses without leaving the machine.
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

function call(base: string, path: string, options: { from?: string; method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const url = new URL(path, base);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        localAddress: options.from ?? '127.0.0.1',
        agent: false,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function enroll(base: string, token: string, from: string, headers: Record<string, string> = {}): Promise<{ answer: Answer; device: FakeDevice }> {
  const device = await FakeDevice.create();
  const answer = await call(base, '/v1/enroll', { from, headers, body: { request: await device.enrollmentRequest(token) } });
  if (answer.status === 201) device.deviceId = String(answer.body.device_id);
  return { answer, device };
}

const badToken = () => `pet_${randomBytes(32).toString('hex')}`;

function expectRateLimited(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(answer.body.code).toBe('rate_limited');
  expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

/** A raw WebSocket upgrade from `from`: the socket, the status line and whatever followed the headers. */
function upgrade(base: string, from: string): Promise<{ socket: Socket; status: number; rest: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), localAddress: from }, () => {
      socket.write(
        `GET /v1/agent HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${SUBPROTOCOL}\r\n\r\n`,
      );
    });
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ socket, status: Number(received.subarray(9, 12).toString()), rest: received.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('enrollment limits on two PostgreSQL replicas sharing their counters', () => {
  let server: ServerProcess;
  let replica: ServerProcess;
  const FAILURES = 6;

  beforeAll(async () => {
    server = await ServerProcess.start('postgresql', { POSTERN_ENROLL_FAILURES_PER_MINUTE: String(FAILURES), POSTERN_ENROLL_ATTEMPTS_PER_MINUTE: '1000' });
    replica = await server.replica();
  });
  afterAll(async () => {
    await replica?.stop();
    await server?.stop();
  });

  it('counts guesses spread over both replicas together, and still enrolls a valid token from that address (one NAT, one office)', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < FAILURES; i++) {
      const { answer } = await enroll((i % 2 ? replica : server).url, badToken(), from);
      expect(answer.status).toBe(401);
    }
    for (const base of [server.url, replica.url]) {
      const { answer } = await enroll(base, badToken(), from);
      expectRateLimited(answer);
      expect(String(answer.body.detail)).toMatch(/refused enrollment attempts.*a valid token is still accepted/);
    }
    for (const base of [server.url, replica.url]) {
      const { answer } = await enroll(base, await server.enrollmentToken(), from);
      expect(answer.status).toBe(201);
    }
    // Another address has its own count.
    expect((await enroll(replica.url, badToken(), '127.0.0.3')).answer.status).toBe(401);
  });

  it('ignores X-Forwarded-For without POSTERN_TRUST_PROXY: a spoofed header does not reset the count', async () => {
    const from = '127.0.0.4';
    const statuses: number[] = [];
    for (let i = 0; i <= FAILURES; i++) statuses.push((await enroll(server.url, badToken(), from, { 'x-forwarded-for': `203.0.113.${i + 1}` })).answer.status);
    expect(statuses).toEqual([...Array<number>(FAILURES).fill(401), 429]);
  });

  it('spends an HTTP nonce once, whichever replica sees it again, and refuses a forged or expired one with stale_nonce', async () => {
    const from = '127.0.0.5';
    const { device } = await enroll(server.url, await server.enrollmentToken(), from);
    const issued = await call(server.url, '/v1/nonce', { from });
    expect(issued.status).toBe(200);
    const nonce = String(issued.body.nonce);
    const first = await call(server.url, '/v1/attestations', { from, body: { token: await device.evidence(nonce) } });
    expect(first.status).toBe(200);
    for (const base of [replica.url, server.url]) {
      const again = await call(base, '/v1/attestations', { from, body: { token: await device.evidence(nonce) } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('stale_nonce');
    }
    // A next nonce from the answer works, on the other replica.
    expect((await call(replica.url, '/v1/attestations', { from, body: { token: await device.evidence(String(first.body.nonce)) } })).status).toBe(200);

    // Forged: the right shape without the server's MAC. Expired: the server's MAC over an expiry in the past.
    const client = new pg.Client({ connectionString: server.db.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ secret: string }>("select secret from server_secrets where name = 'nonce-hmac'");
    await client.end();
    const key = Buffer.from(rows[0]?.secret ?? '', 'base64url');
    const body = Buffer.alloc(16);
    body.writeUInt32BE(Math.floor(Date.now() / 1000) - 1, 0);
    randomBytes(12).copy(body, 4);
    const tag = createHmac('sha256', key).update('postern http nonce v1\0').update(body).digest().subarray(0, 16);
    const expired = Buffer.concat([body, tag]).toString('base64url');
    for (const refused of [randomBytes(32).toString('base64url'), expired]) {
      const answer = await call(replica.url, '/v1/attestations', { from, body: { token: await device.evidence(refused) } });
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('stale_nonce');
    }
  });
});

describe('limits of a single server', () => {
  let server: ServerProcess;
  let proxied: ServerProcess;

  beforeAll(async () => {
    server = await ServerProcess.start('pglite', {
      POSTERN_NONCES_PER_MINUTE: '20',
      POSTERN_ENROLL_ATTEMPTS_PER_MINUTE: '5',
      POSTERN_MAX_UNAUTHENTICATED_STREAMS: '5',
      POSTERN_MAX_UNAUTHENTICATED_STREAMS_PER_ADDRESS: '3',
      POSTERN_ATTESTATION_TIMEOUT_S: '2',
    });
    proxied = await ServerProcess.start('pglite', { POSTERN_TRUST_PROXY: '1', POSTERN_ENROLL_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await server?.stop();
    await proxied?.stop();
  });

  it('limits a nonce flood from one address with 429 rate_limited while another address is served', async () => {
    const flood = await Promise.all(Array.from({ length: 40 }, () => call(server.url, '/v1/nonce', { from: '127.0.0.6' })));
    expect(flood.filter((a) => a.status === 200)).toHaveLength(20);
    const limited = flood.filter((a) => a.status !== 200);
    expect(limited).toHaveLength(20);
    for (const answer of limited) expectRateLimited(answer);
    expect((await call(server.url, '/v1/nonce', { from: '127.0.0.7' })).status).toBe(200);
  });

  it('bounds every enrollment attempt per address, valid or not, at POSTERN_ENROLL_ATTEMPTS_PER_MINUTE', async () => {
    const token = await server.enrollmentToken({ uses: 10 });
    for (let i = 0; i < 5; i++) expect((await enroll(server.url, token, '127.0.0.8')).answer.status).toBe(201);
    expectRateLimited((await enroll(server.url, token, '127.0.0.8')).answer);
    expect((await enroll(server.url, token, '127.0.0.9')).answer.status).toBe(201);
  });

  it('with POSTERN_TRUST_PROXY=1 counts the address the proxy appended, whatever the client wrote before it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await enroll(proxied.url, badToken(), '127.0.0.1', { 'x-forwarded-for': `198.51.100.${i + 1}, 192.0.2.10` })).answer.status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await enroll(proxied.url, badToken(), '127.0.0.1', { 'x-forwarded-for': '192.0.2.10, 192.0.2.11' })).answer.status).toBe(401);
  });

  it('caps unauthenticated agent streams per address and in all, answering the upgrade 429 with Retry-After', async () => {
    const open: Socket[] = [];
    /** Upgrades from `from`, keeping the admitted sockets open; the statuses answered. */
    const attempt = async (from: string, count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) {
        const { socket, status } = await upgrade(server.url, from);
        statuses.push(status);
        if (status === 101) open.push(socket);
        else socket.destroy();
      }
      return statuses;
    };
    try {
      expect(await attempt('127.0.0.10', 4)).toEqual([101, 101, 101, 429]); // per address
      expect(await attempt('127.0.0.11', 2)).toEqual([101, 101]);
      expect(await attempt('127.0.0.12', 1)).toEqual([429]); // in all
      // A closed stream frees its place.
      open.shift()?.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect(await attempt('127.0.0.12', 1)).toEqual([101]);
    } finally {
      for (const socket of open) socket.destroy();
    }
  });

  it('destroys the socket of a stream that never attests within a second of the 4408 close, even if the peer never answers it', async () => {
    await new Promise((r) => setTimeout(r, 200)); // the sockets of the previous test are released
    const { socket, status } = await upgrade(server.url, '127.0.0.13');
    expect(status).toBe(101);
    const started = Date.now();
    let closeFrameAt = 0;
    socket.on('data', (chunk: Buffer) => {
      // 0x88: a close frame; its first two payload bytes are the code.
      const at = chunk.indexOf(0x88);
      if (at >= 0 && closeFrameAt === 0) {
        closeFrameAt = Date.now();
        expect(chunk.readUInt16BE(at + 2)).toBe(4408);
      }
    });
    // The peer neither answers the close frame nor closes: the server must end the connection itself.
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(closeFrameAt).toBeGreaterThan(0);
    expect(Date.now() - closeFrameAt).toBeLessThan(2_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

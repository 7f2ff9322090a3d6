import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_ALLOW_LIST, parseAllowList } from './push-address.js';
import { pushSet } from './push-request.js';

const allowLoopback = parseAllowList('127.0.0.1', 'POSTERN_SSF_PUSH_ALLOW_HOSTS');
let server: Server | null = null;

async function receiver(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

describe('pushing one SET (RFC 8935)', () => {
  it('POSTs it as application/secevent+jwt with the stream’s Authorization header', async () => {
    let seen: { headers: IncomingMessage['headers']; body: string } | null = null;
    const url = await receiver((req, body, res) => {
      seen = { headers: req.headers, body };
      res.writeHead(202).end();
    });
    expect(await pushSet(`${url}/push`, 'a.b.c', 'Bearer r', allowLoopback)).toEqual({ result: 'delivered', status: 202 });
    expect(seen).toMatchObject({ body: 'a.b.c', headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json', authorization: 'Bearer r' } });
  });

  it('connects to the address it checked for a name, keeping the name in Host', async () => {
    let host: string | undefined;
    const url = await receiver((req, _body, res) => {
      host = req.headers.host;
      res.writeHead(202).end();
    });
    const port = new URL(url).port;
    expect(await pushSet(`http://localhost:${port}/push`, 'a.b.c', null, allowLoopback)).toMatchObject({ result: 'delivered' });
    expect(host).toBe(`localhost:${port}`);
  });

  it('refuses a loopback receiver without the allow setting, before connecting', async () => {
    let called = false;
    const url = await receiver((_req, _body, res) => {
      called = true;
      res.writeHead(202).end();
    });
    expect(await pushSet(`${url}/push`, 'a.b.c', null, EMPTY_ALLOW_LIST)).toMatchObject({ result: 'failed', error: expect.stringMatching(/127\.0\.0\.1 is a loopback address/) });
    expect(await pushSet(`http://localhost:${new URL(url).port}/push`, 'a.b.c', null, EMPTY_ALLOW_LIST)).toMatchObject({ result: 'failed', error: expect.stringMatching(/refused to push to localhost/) });
    expect(called).toBe(false);
  });

  it('does not follow a redirect', async () => {
    let hits = 0;
    const url = await receiver((_req, _body, res) => {
      hits++;
      res.writeHead(307, { location: '/elsewhere' }).end();
    });
    expect(await pushSet(`${url}/push`, 'a.b.c', null, allowLoopback)).toMatchObject({ result: 'failed', status: 307, error: expect.stringMatching(/redirecting to another path of the same host; redirects are not followed/) });
    expect(hits).toBe(1);
  });

  it('gives up on an answer that is too large or too slow', async () => {
    const big = await receiver((_req, _body, res) => {
      res.writeHead(202);
      res.end('x'.repeat(100_000));
    });
    expect(await pushSet(`${big}/push`, 'a.b.c', null, allowLoopback, { timeoutMs: 5_000, maxResponseBytes: 1024 })).toMatchObject({ result: 'failed', error: expect.stringMatching(/larger than 1024 bytes/) });
    await new Promise((resolve) => server?.close(resolve));
    const slow = await receiver(() => undefined);
    expect(await pushSet(`${slow}/push`, 'a.b.c', null, allowLoopback, { timeoutMs: 300, maxResponseBytes: 1024 })).toMatchObject({ result: 'failed', error: expect.stringMatching(/no answer within 300 ms/) });
  });
});

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SUBPROTOCOL } from '@postern/shared';
import { createTestCa, hasOpenssl, type TestCa } from '@postern/testkit/tls/test-ca';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { openWsTransport } from '../stream/ws-transport.js';
import { describeConnectionError } from './connection-error.js';
import { secureFetch } from './secure-fetch.js';
import { loadTrustStore, type TrustStore } from './trust-store.js';

/** Opens the agent's WebSocket transport and resolves with how it ended (or 'open'). */
function wsOutcome(url: string, server: string, trust: TrustStore): Promise<string> {
  return new Promise((resolve) => {
    const transport = openWsTransport(
      url,
      {
        onOpen: () => {
          transport.close(1000, 'done');
          resolve('open');
        },
        onText: () => {},
        onDropped: () => {},
        onClose: (_code, _reason, error) => resolve(error ?? 'closed'),
      },
      { userAgent: 'test', server, trust },
    );
  });
}

/** An HTTPS and WebSocket server on loopback with `cert`; answers JSON, or a redirect at /moved. */
async function startHttpsServer(cert: { cert: string; key: string }): Promise<{ server: Server; base: string }> {
  const server = createServer(cert, (req, res) => {
    if (req.url === '/moved') {
      res.writeHead(307, { location: 'http://192.0.2.1/v1/enroll' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  new WebSocketServer({ server, handleProtocols: () => SUBPROTOCOL });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.skipIf(!(await hasOpenssl()))('TLS connections of the agent (certificates made with openssl)', () => {
  let ca: TestCa;
  let other: TestCa;
  let server: Server;
  let base: string;
  /** Its certificate names another host than the 127.0.0.1 it is reached at. */
  let elsewhere: { server: Server; base: string };
  let trusted: TrustStore;
  let untrusted: TrustStore;
  let otherCa: TrustStore;

  beforeAll(async () => {
    [ca, other] = await Promise.all([createTestCa('Corp CA'), createTestCa('Other CA')]);
    ({ server, base } = await startHttpsServer(await ca.issue(['localhost', '127.0.0.1'])));
    elsewhere = await startHttpsServer(await ca.issue(['postern.test']));
    [trusted, untrusted, otherCa] = await Promise.all([loadTrustStore({ caFile: ca.caFile }), loadTrustStore(), loadTrustStore({ caFile: other.caFile })]);
  });
  afterAll(async () => {
    for (const s of [server, elsewhere?.server]) {
      s?.closeAllConnections();
      await new Promise((resolve) => s?.close(resolve));
    }
    await Promise.all([ca?.cleanup(), other?.cleanup()]);
  });

  it('fetch trusts a server whose certificate the --ca file issued, and only then', async () => {
    const ok = await secureFetch(trusted)(`${base}/v1/nonce`);
    expect(await ok.json()).toEqual({ ok: true });
    const refused = await secureFetch(untrusted)(`${base}/v1/nonce`).catch((err: unknown) => err);
    expect(describeConnectionError(refused, base).message).toMatch(/^the TLS certificate of 127\.0\.0\.1:\d+ is signed by a certificate authority this device does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): .*--ca FILE/);
  });

  it('fetch follows no redirect: a 3xx comes back as the answer', async () => {
    const moved = await secureFetch(trusted)(`${base}/moved`, { method: 'POST', body: '{}' });
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe('http://192.0.2.1/v1/enroll');
  });

  it('the WebSocket verifies wss:// against the same CAs and says why it refused', async () => {
    const url = `${base.replace('https', 'wss')}/v1/agent`;
    expect(await wsOutcome(url, base, trusted)).toBe('open');
    expect(await wsOutcome(url, base, otherCa)).toMatch(new RegExp(`does not trust .*not signed by the CA in ${other.caFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(await wsOutcome(`${elsewhere.base.replace('https', 'wss')}/v1/agent`, elsewhere.base, trusted)).toMatch(/^the TLS certificate of 127\.0\.0\.1:\d+ is for another name \(.*\): .*add 127\.0\.0\.1 to the certificate$/);
  });
});

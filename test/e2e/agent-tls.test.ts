import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '@postern/testkit/cli';
import { agentBin } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';
import { createTestCa, hasOpenssl, type TestCa } from '@postern/testkit/tls/test-ca';
import { startTlsTerminator, type TlsTerminator } from '@postern/testkit/tls/tls-terminator';

/** A web server that is not Postern: every request gets a 404 page, and is counted. */
async function startWebServer(): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body><h1>404 Not Found</h1></body></html>');
  });
  server.on('upgrade', (req, socket) => {
    requests.push(`UPGRADE ${req.url}`);
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: 9\r\n\r\nnot found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe.skipIf(!(await hasOpenssl()))('the real agent over TLS, through a TLS proxy in front of the real server', () => {
  let server: ServerProcess;
  let ca: TestCa;
  let otherCa: TestCa;
  let proxy: TlsTerminator;
  let web: Awaited<ReturnType<typeof startWebServer>>;
  let dir: string;
  const state = () => join(dir, 'state');
  const agent = (args: string[], env: Record<string, string> = {}) => cli(agentBin, [...args, '--state', state()], env);

  beforeAll(async () => {
    [server, ca, otherCa, web] = await Promise.all([ServerProcess.start('pglite'), createTestCa('Corp CA'), createTestCa('Other CA'), startWebServer()]);
    const { cert, key } = await ca.issue(['127.0.0.1', 'localhost']);
    proxy = await startTlsTerminator({ target: server.url, cert, key });
    dir = await mkdtemp(join(tmpdir(), 'postern-agent-tls-'));
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise((resolve) => web?.server.close(resolve));
    await server?.stop();
    await Promise.all([ca?.cleanup(), otherCa?.cleanup()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a certificate from a CA it was not given, saying to pass --ca or that the given CA does not match', async () => {
    const token = await server.enrollmentToken();
    const none = await agent(['enroll', '--server', proxy.url, '--token', token]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/the TLS certificate of 127\.0\.0\.1:\d+ is signed by a certificate authority this device does not trust \(\w+\): if the server uses a private CA, pass its certificate with --ca FILE/);
    const other = await agent(['enroll', '--server', proxy.url, '--token', token], { POSTERN_CA_FILE: otherCa.caFile });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`not signed by the CA in ${otherCa.caFile} nor by one this system trusts`);
  });

  it('enrolls with --ca, and then streams and reports over HTTPS with the CA saved in its state', async () => {
    const enrolled = await agent(['enroll', '--server', proxy.url, '--token', await server.enrollmentToken(), '--ca', ca.caFile]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const device = JSON.parse(await readFile(join(state(), 'device.json'), 'utf8')) as { server: string; ca_file: string };
    expect(device).toMatchObject({ server: proxy.url, ca_file: ca.caFile });

    const stream = await agent(['run', '--once']);
    expect(stream.code, stream.stderr).toBe(0);
    expect(stream.stdout).toMatch(/report \d+ accepted/);
    const overHttp = await agent(['run', '--once', '--http']);
    expect(overHttp.code, overHttp.stderr).toBe(0);
    expect(overHttp.stdout).toMatch(/report \d+ accepted \(over HTTP\)/);
  });

  it('refuses plain http:// to another machine before connecting to anything', async () => {
    const started = Date.now();
    // TEST-NET-1 (RFC 5737) routes nowhere: a connection attempt would hang until the timeout.
    for (const args of [
      ['enroll', '--server', 'http://192.0.2.1', '--token', 'pet_0123456789abcdefghij'],
      ['run', '--once', '--server', 'http://192.0.2.1:8080'],
      ['run', '--once', '--http', '--server', 'http://192.0.2.1:8080'],
    ]) {
      const refused = await agent(args);
      expect(refused.code, args.join(' ')).toBe(1);
      expect(refused.stderr).toMatch(/refusing the server URL http:\/\/192\.0\.2\.1(:8080)?: over http:\/\/ the enrollment token and every report cross the network in clear text, where anyone on the way can read and use them; use https:\/\//);
    }
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('explains https:// to a server that speaks plain HTTP', async () => {
    const plain = server.url.replace('http:', 'https:');
    for (const args of [['run', '--once', '--http', '--server', plain], ['run', '--once', '--server', plain]]) {
      const said = await agent(args);
      expect(said.code, args.join(' ')).toBe(1);
      expect(said.stderr).toContain(`${plain} speaks plain HTTP, not HTTPS`);
      expect(said.stderr).toContain(`use ${server.url} for this local server`);
    }
  });

  it('says a 404 from something else is not a Postern server, and gives up at once', async () => {
    web.requests.length = 0;
    const enroll = await cli(agentBin, ['enroll', '--server', web.url, '--token', 'pet_0123456789abcdefghij', '--state', join(dir, 'other')]);
    expect(enroll.code).toBe(1);
    expect(enroll.stderr).toContain(`${web.url} is not a Postern server: POST ${web.url}/v1/enroll answered HTTP 404 (text/html)`);
    expect(enroll.stderr).not.toMatch(/try again/);
    const overHttp = await agent(['run', '--once', '--http', '--server', web.url]);
    expect(overHttp.stderr).toContain(`${web.url} is not a Postern server: GET ${web.url}/v1/nonce answered HTTP 404 (text/html)`);
    const stream = await agent(['run', '--once', '--server', web.url]);
    expect(stream.stderr).toContain(`${web.url} is not a Postern server: GET ws://127.0.0.1:`);
    expect([enroll.code, overHttp.code, stream.code]).toEqual([1, 1, 1]);
    expect(web.requests).toEqual(['POST /v1/enroll', 'GET /v1/nonce', 'UPGRADE /v1/agent']);
  });

  it('the long-running agent keeps trying a server that is not Postern, with backoff, logging why', async () => {
    web.requests.length = 0;
    const child = spawn(process.execPath, [agentBin, 'run', '--state', state(), '--server', web.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      for (let i = 0; i < 150 && web.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(web.requests.length, out).toBeGreaterThanOrEqual(2);
      expect(out).toMatch(new RegExp(`${web.url.replace(/[.]/g, '\\.')} is not a Postern server: .*answered HTTP 404.*; reconnecting in`));
      expect(child.exitCode).toBeNull();
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessTokenHash } from '@postern/shared';
import { decodeJwt, EmbeddedJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../keystore/file-key-store.js';
import type { DeviceKey } from '../keystore/key-store.js';
import { nonceAskedFor, sendWithDpop } from './dpop-request.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
const NONCE = 'eyJ7S_zG.9-nonce~';

/** A resource server that wants NONCE in every proof (RFC 9449 §9), and records what it was sent. */
function nonceServer(): { server: Server; seen: Array<{ method: string; headers: IncomingHttpHeaders; body: string }> } {
  const seen: Array<{ method: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const proof = decodeJwt(String(req.headers.dpop));
      if (proof.nonce !== NONCE) {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256"', 'dpop-nonce': NONCE });
        res.end('{"code":"use_dpop_nonce"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('the items');
    });
  });
  return { server, seen };
}

describe('sendWithDpop', () => {
  let dir: string;
  let key: DeviceKey;
  let server: Server;
  let seen: ReturnType<typeof nonceServer>['seen'];
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-dpop-request-'));
    key = await new FileKeyStore(dir).create();
    ({ server, seen } = nonceServer());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the token and a proof for exactly this method and URL, and asks once more with the nonce the server names', async () => {
    seen.length = 0;
    const url = `${base}/api/items?page=2`;
    const response = await sendWithDpop({ method: 'PUT', url, headers: [['X-Trace', 't1']], body: new TextEncoder().encode('{"a":1}') }, { key, token: TOKEN }, fetch);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('the items');
    expect(seen).toHaveLength(2);
    const proofs = [];
    for (const request of seen) {
      expect(request).toMatchObject({ method: 'PUT', body: '{"a":1}', headers: { authorization: `DPoP ${TOKEN}`, 'x-trace': 't1' } });
      const { payload } = await jwtVerify(String(request.headers.dpop), EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      expect(payload).toMatchObject({ htm: 'PUT', htu: `${base}/api/items`, ath: accessTokenHash(TOKEN) });
      proofs.push(payload);
    }
    expect(proofs[0]).not.toHaveProperty('nonce');
    expect(proofs[1]).toMatchObject({ nonce: NONCE });
    expect(proofs[1]?.jti).not.toBe(proofs[0]?.jti);
  });

  it('asks only once more: a server that keeps refusing gets its answer passed on', async () => {
    const stubborn = createServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"', 'dpop-nonce': 'n1' });
      res.end();
    });
    await new Promise<void>((resolve) => stubborn.listen(0, '127.0.0.1', resolve));
    let calls = 0;
    stubborn.on('request', () => calls++);
    const response = await sendWithDpop({ method: 'GET', url: `http://127.0.0.1:${(stubborn.address() as AddressInfo).port}/`, headers: [] }, { key, token: TOKEN }, fetch);
    await new Promise((resolve) => stubborn.close(resolve));
    expect(response.status).toBe(401);
    expect(calls).toBe(2);
  });
});

describe('nonceAskedFor', () => {
  const answer = (status: number, headers: Record<string, string>) => new Response(null, { status, headers });

  it('reads the nonce of a 401 use_dpop_nonce challenge', () => {
    expect(nonceAskedFor(answer(401, { 'www-authenticate': 'dpop error="use_dpop_nonce"', 'dpop-nonce': 'abc' }))).toBe('abc');
  });

  it('finds none in other refusals, other schemes, or a nonce that is not NQCHAR', () => {
    expect(nonceAskedFor(answer(401, { 'www-authenticate': 'DPoP error="invalid_dpop_proof", algs="ES256"', 'dpop-nonce': 'abc' }))).toBeNull();
    expect(nonceAskedFor(answer(401, { 'www-authenticate': 'Bearer error="use_dpop_nonce"', 'dpop-nonce': 'abc' }))).toBeNull();
    expect(nonceAskedFor(answer(403, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'abc' }))).toBeNull();
    expect(nonceAskedFor(answer(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"' }))).toBeNull();
    expect(nonceAskedFor(answer(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'a"b' }))).toBeNull();
  });
});

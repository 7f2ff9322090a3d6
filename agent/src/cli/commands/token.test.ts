import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessTokenHash } from '@postern/shared';
import { EmbeddedJWK, jwtVerify, SignJWT, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeEnrollment } from '../../testenv/fake-enrollment.js';
import { rejectionOf } from '../../testenv/rejection.js';
import type { StateStore } from '../../state/store.js';
import { proofCommand } from './proof.js';
import { tokenCommand } from './token.js';

async function earToken(expiresIn: string): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuedAt().setExpirationTime(expiresIn).sign(privateKey);
}

describe('postern-agent token', () => {
  let dir: string;
  let store: StateStore;
  let out: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-token-'));
    store = (await fakeEnrollment(dir)).store;
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  const saveToken = async (token: string) =>
    store.writeLastResult({ version: 1, seq: 1, verdict: 'compliant', score: 100, checks: [], token, received_at: 1 });

  it('prints the stored token and a DPoP proof for the URL, bound to that token', async () => {
    const token = await earToken('1h');
    await saveToken(token);
    await tokenCommand({ state: dir, url: 'https://app.example.com/docs?page=2', method: 'GET', json: true });

    const printed = JSON.parse(out);
    expect(printed.authorization).toBe(`DPoP ${token}`);
    const { payload } = await jwtVerify(printed.dpop, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ htm: 'GET', htu: 'https://app.example.com/docs', ath: accessTokenHash(token) });
  });

  it('refuses to make a proof for an http:// URL on another machine, where token and proof would travel in clear text', async () => {
    await saveToken(await earToken('1h'));
    const err = await rejectionOf(tokenCommand({ state: dir, url: 'http://app.example.com/', json: true }));
    expect(err).toMatchObject({ code: 'insecure_server', message: expect.stringMatching(/^refusing --url http:\/\/app\.example\.com: over http:\/\/ the result token and its DPoP proof cross the network in clear text/) });
    expect(out).toBe('');
    await tokenCommand({ state: dir, url: 'http://127.0.0.1:8080/', json: true });
    expect(JSON.parse(out)).toHaveProperty('dpop');
  });

  it('signs in the nonce a server asked for (use_dpop_nonce)', async () => {
    await saveToken(await earToken('1h'));
    await tokenCommand({ state: dir, url: 'https://app.example.com/', nonce: 'n-0123_abc', json: true });
    const { payload } = await jwtVerify(JSON.parse(out).dpop, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ htm: 'GET', nonce: 'n-0123_abc' });
  });

  it('as `proof`, prints the Authorization and DPoP header lines for exactly this method and URL', async () => {
    const token = await earToken('1h');
    await saveToken(token);
    await proofCommand({ state: dir, url: 'https://app.example.com/api/items?page=2', method: 'delete' });
    const [authorization, dpop, end] = out.split('\n');
    expect(authorization).toBe(`Authorization: DPoP ${token}`);
    expect(end).toBe('');
    const { payload } = await jwtVerify(dpop?.replace(/^DPoP: /, '') ?? '', EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ htm: 'DELETE', htu: 'https://app.example.com/api/items', ath: accessTokenHash(token) });
    expect(payload).not.toHaveProperty('nonce');
  });

  it('refuses an expired token and says how to get a fresh one', async () => {
    await saveToken(await earToken('-1m'));
    expect((await rejectionOf(tokenCommand({ state: dir, url: 'https://a.example/' }))).message).toMatch(/expired .* run `postern-agent run --once`/);
  });
});

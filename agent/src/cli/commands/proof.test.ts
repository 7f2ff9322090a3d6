import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessTokenHash } from '@postern/shared';
import { EmbeddedJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeEnrollment } from '../../testenv/fake-enrollment.js';
import { rejectionOf } from '../../testenv/rejection.js';
import type { DeviceKey } from '../../keystore/key-store.js';
import { proofCommand } from './proof.js';

describe('postern-agent proof', () => {
  let dir: string;
  let key: DeviceKey;
  let out: string;
  let token: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-proof-'));
    const enrolled = await fakeEnrollment(dir);
    key = enrolled.key;
    const { privateKey } = await generateKeyPair('ES256');
    token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    await enrolled.store.writeLastResult({ version: 1, seq: 1, verdict: 'compliant', score: 100, checks: [], token, received_at: 1 });
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

  it('prints the Authorization and DPoP header lines for exactly this method and URL', async () => {
    await proofCommand({ state: dir, url: 'https://app.example.com/api/items?page=2', method: 'delete' });
    const lines = out.split('\n');
    expect(lines[0]).toBe(`Authorization: DPoP ${token}`);
    expect(lines[2]).toBe('');
    const { payload, protectedHeader } = await jwtVerify(lines[1]?.replace(/^DPoP: /, '') ?? '', EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(protectedHeader.jwk).toEqual(key.publicJwk);
    expect(payload).toMatchObject({ htm: 'DELETE', htu: 'https://app.example.com/api/items', ath: accessTokenHash(token) });
    expect(payload).not.toHaveProperty('nonce');
  });

  it('signs in the nonce a server asked for', async () => {
    await proofCommand({ state: dir, url: 'https://app.example.com/', nonce: 'n-0123_abc', json: true });
    const printed = JSON.parse(out) as { authorization: string; dpop: string; expires_at: number };
    expect(printed.authorization).toBe(`DPoP ${token}`);
    expect(typeof printed.expires_at).toBe('number');
    const { payload } = await jwtVerify(printed.dpop, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ htm: 'GET', nonce: 'n-0123_abc' });
  });

  it('refuses a URL that is none, before signing anything', async () => {
    expect(await rejectionOf(proofCommand({ state: dir, url: 'app.example.com' }))).toMatchObject({ code: 'bad_url' });
    expect(out).toBe('');
  });
});

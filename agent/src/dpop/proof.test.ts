import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessTokenHash } from '@postern/shared';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../keystore/file-key-store.js';
import type { DeviceKey } from '../keystore/key-store.js';
import { createDpopProof, htuOf } from './proof.js';

describe('createDpopProof', () => {
  let dir: string;
  let key: DeviceKey;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-dpop-'));
    key = await new FileKeyStore(dir).create();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('binds method, URL without query or fragment, and the access token hash', async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const proof = await createDpopProof({ key, method: 'post', url: 'https://app.example.com/api/items?id=1#top', accessToken: token });

    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { algorithms: ['ES256'], typ: 'dpop+jwt' });
    expect(protectedHeader).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk });
    expect(await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256')).toBe(key.kid);
    expect(payload).toEqual({
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      htm: 'POST',
      htu: 'https://app.example.com/api/items',
      iat: expect.any(Number),
      ath: accessTokenHash(token),
    });
  });

  it('uses a fresh jti for every proof', async () => {
    const decode = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).jti;
    const a = await createDpopProof({ key, method: 'GET', url: 'https://a.example/' });
    const b = await createDpopProof({ key, method: 'GET', url: 'https://a.example/' });
    expect(decode(a)).not.toBe(decode(b));
  });

  it('refuses a URL that is not absolute http(s)', () => {
    expect(() => htuOf('/relative')).toThrow(/not an absolute URL/);
    expect(() => htuOf('ftp://x/')).toThrow(/http\(s\) URL/);
  });
});

import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { deviceKid, type PublicP256Jwk } from '@postern/shared';
import { PublicKeyCache } from './public-key-cache.js';

async function newKey(): Promise<{ kid: string; jwk: PublicP256Jwk }> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = (await exportJWK(publicKey)) as PublicP256Jwk;
  return { kid: await deviceKid(jwk), jwk };
}

describe('the public key cache', () => {
  it('imports a key once and answers later lookups of its kid with the same key', async () => {
    const cache = new PublicKeyCache();
    const { kid, jwk } = await newKey();
    const first = await cache.get(kid, jwk);
    expect(first).not.toBeNull();
    expect(await cache.get(kid, { ...jwk })).toBe(first);
  });

  it('refuses a key that is not the one its kid names, cached or not', async () => {
    const cache = new PublicKeyCache();
    const a = await newKey();
    const b = await newKey();
    expect(await cache.get(a.kid, b.jwk)).toBeNull();
    await cache.get(a.kid, a.jwk);
    expect(await cache.get(a.kid, b.jwk)).toBeNull();
  });

  it('holds at most its capacity, dropping the least recently used key', async () => {
    const cache = new PublicKeyCache(2);
    const [a, b, c] = await Promise.all([newKey(), newKey(), newKey()]);
    const keyA = await cache.get(a.kid, a.jwk);
    await cache.get(b.kid, b.jwk);
    await cache.get(a.kid, a.jwk); // a is now the most recent
    await cache.get(c.kid, c.jwk); // so b goes
    expect(cache.size).toBe(2);
    expect(await cache.get(a.kid, a.jwk)).toBe(keyA);
  });
});

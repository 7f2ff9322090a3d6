import { createHmac } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash, deviceKid } from '@postern/shared';
import { notPublicP256Jwks } from '@postern/testkit/fake-device';
import { PublicKeyCache } from '../keys/public-key-cache.js';
import { hashSecret } from '../secrets/secret.js';
import { checkDpopProof, DpopInvalid, DpopNonceRequired, normalizeHtu, replayedProof, type JtiSpend } from './dpop.js';
import { DpopNonces } from './dpop-nonce.js';

const URL_ = 'https://app.example.com/reports/q3';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZXZpY2UifQ.c2lnbmF0dXJl';
const NOW = 1_750_000_000;
const WINDOW_S = 60;
const JTI = 'proof-0001';
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

interface DeviceKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
}

async function deviceKey(): Promise<DeviceKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await deviceKid(publicJwk) };
}

describe('checkDpopProof', () => {
  let device: DeviceKey;
  let thief: DeviceKey;
  beforeAll(async () => {
    [device, thief] = await Promise.all([deviceKey(), deviceKey()]);
  });

  /** An honest proof of `device` for GET URL_ with TOKEN at NOW, with parts replaced. */
  function proof(o: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: CryptoKey } = {}): Promise<string> {
    return new SignJWT({ jti: JTI, htm: 'GET', htu: URL_, iat: NOW, ath: accessTokenHash(TOKEN), ...o.claims })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: device.publicJwk, ...o.header })
      .sign(o.key ?? device.privateKey);
  }

  const check = async (p: string | Promise<string>, expected: { method?: string; url?: string; accessToken?: string; jkt?: string; now?: number; nonces?: DpopNonces } = {}): Promise<JtiSpend> =>
    checkDpopProof(await p, { method: 'GET', url: URL_, accessToken: TOKEN, jkt: device.jkt, now: NOW, ...expected }, new PublicKeyCache());

  async function expectRefused(p: string | Promise<string>, words: RegExp, expected: Parameters<typeof check>[1] = {}): Promise<void> {
    const refusal = check(p, expected);
    await expect(refusal).rejects.toBeInstanceOf(DpopInvalid);
    await expect(refusal).rejects.toMatchObject({ code: 'invalid_dpop_proof', message: expect.stringMatching(words) });
  }

  describe('accepts an honest proof and answers the replay record to spend', () => {
    it('holding a SHA-256 of the bound key and the jti, never the jti itself', async () => {
      const spend = await check(proof());
      expect(spend.jtiHash).toBe(hashSecret(`${device.jkt}:${JTI}`));
      expect(spend.jtiHash).toMatch(/^[0-9a-f]{64}$/);
      expect(spend.jtiHash).not.toContain(JTI);
    });

    it('expiring a second past two iat windows after the server clock', async () => {
      expect((await check(proof())).expiresAt).toEqual(new Date((NOW + 2 * WINDOW_S + 1) * 1000));
    });

    it('that outlives the proof: dated at the far edge of the window, it is acceptable until the second before its record expires, and refused from then on', async () => {
      const future = proof({ claims: { iat: NOW + WINDOW_S } });
      const { expiresAt } = await check(future);
      const expiry = expiresAt.getTime() / 1000;
      await expect(check(future, { now: expiry - 1 })).resolves.toBeDefined();
      await expectRefused(future, /iat is more than 60 s/, { now: expiry });
    });

    it('that differs for the same jti under another key', async () => {
      const other = await check(proof({ header: { jwk: thief.publicJwk }, key: thief.privateKey }), { jkt: thief.jkt });
      expect(other.jtiHash).not.toBe((await check(proof())).jtiHash);
    });

    it.each([
      ['behind', -WINDOW_S],
      ['ahead of', WINDOW_S],
    ])('with iat exactly the window %s the server clock', async (_, offset) => {
      await expect(check(proof({ claims: { iat: NOW + offset } }))).resolves.toMatchObject({ jtiHash: hashSecret(`${device.jkt}:${JTI}`) });
    });
  });

  describe('refuses with invalid_dpop_proof', () => {
    it('a header that is not a JWS', async () => {
      await expectRefused('not.a-jws', /the DPoP header is not a JWS/);
    });

    it.each([
      ['JWT', 'JWT'],
      ['missing', undefined],
      ['the evidence typ', 'eat+jwt'],
    ])('a typ that is %s', async (_, typ) => {
      await expectRefused(proof({ header: { typ } }), /the DPoP proof typ must be "dpop\+jwt"/);
    });

    it('alg "none" with an empty signature', async () => {
      const claims = { jti: JTI, htm: 'GET', htu: URL_, iat: NOW, ath: accessTokenHash(TOKEN) };
      await expectRefused(`${b64({ typ: 'dpop+jwt', alg: 'none', jwk: device.publicJwk })}.${b64(claims)}.`, /must be signed ES256/);
    });

    it('HS256 keyed with the device public key as JWK JSON', async () => {
      const input = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: device.publicJwk })}.${b64({ jti: JTI, htm: 'GET', htu: URL_, iat: NOW, ath: accessTokenHash(TOKEN) })}`;
      await expectRefused(`${input}.${createHmac('sha256', JSON.stringify(device.publicJwk)).update(input).digest('base64url')}`, /must be signed ES256/);
    });

    it.each(['ES384', 'RS256'] as const)('%s with a matching key of that type', async (alg) => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = await exportJWK(publicKey);
      await expectRefused(proof({ header: { alg, jwk }, key: privateKey }), /must be signed ES256/, { jkt: await deviceKid(jwk) });
    });

    it.each(notPublicP256Jwks)('a jwk %s', async (_, jwkOf) => {
      await expectRefused(proof({ header: { jwk: await jwkOf(device) } }), /must carry a public P-256 jwk/);
    });

    it("a jwk whose thumbprint is not the token's cnf.jkt: a thief's own key", async () => {
      await expectRefused(proof({ header: { jwk: thief.publicJwk }, key: thief.privateKey }), /signed by a key other than the one the token is bound to/);
    });

    it('a signature not made by the embedded jwk', async () => {
      await expectRefused(proof({ key: thief.privateKey }), /the DPoP proof signature does not verify/);
    });

    it.each(['jti', 'htm', 'htu', 'iat', 'ath'])('a proof without %s', async (claim) => {
      await expectRefused(proof({ claims: { [claim]: undefined } }), /the DPoP proof claims are incomplete \(jti, htm, htu, iat, ath\)/);
    });

    it.each<[string, Record<string, unknown>]>([
      ['a jti shorter than 8 characters', { jti: 'short' }],
      ['a jti longer than 128 characters', { jti: 'j'.repeat(129) }],
      ['an iat that is not an integer', { iat: NOW + 0.5 }],
      ['an htm that is not a string', { htm: ['GET'] }],
    ])('%s', async (_, claims) => {
      await expectRefused(proof({ claims }), /claims are incomplete/);
    });

    it('a payload that is not JSON', async () => {
      const signed = await new CompactSign(new TextEncoder().encode('GET /reports')).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: device.publicJwk }).sign(device.privateKey);
      await expectRefused(signed, /claims are incomplete/);
    });

    it('an htm of another method', async () => {
      await expectRefused(proof({ claims: { htm: 'POST' } }), /the DPoP proof is for method POST, not GET/);
    });

    it('an htm in lower case, since HTTP methods are case-sensitive', async () => {
      await expectRefused(proof({ claims: { htm: 'get' } }), /for method get, not GET/);
    });

    it.each([
      ['another host', 'https://evil.example.com/reports/q3'],
      ['another path', 'https://app.example.com/reports/q4'],
      ['another scheme', 'http://app.example.com/reports/q3'],
      ['another port', 'https://app.example.com:8443/reports/q3'],
      ['a trailing slash the request does not have', 'https://app.example.com/reports/q3/'],
      ['a path in another case', 'https://app.example.com/Reports/q3'],
      ['a relative reference', '/reports/q3'],
    ])('an htu with %s', async (_, htu) => {
      await expectRefused(proof({ claims: { htu } }), new RegExp(`the DPoP proof is for ${escaped(htu)}, not ${escaped(URL_)}$`));
    });

    it.each([
      ['behind', -(WINDOW_S + 1)],
      ['ahead of', WINDOW_S + 1],
    ])('an iat one second more than the window %s the server clock', async (_, offset) => {
      await expectRefused(proof({ claims: { iat: NOW + offset } }), /the DPoP proof iat is more than 60 s from the server's clock/);
    });

    it('an ath of another token', async () => {
      await expectRefused(proof({ claims: { ath: accessTokenHash(`${TOKEN}x`) } }), /the DPoP proof ath does not match the presented token/);
    });

    it('an ath of the token in another encoding (hex rather than base64url)', async () => {
      const hex = Buffer.from(accessTokenHash(TOKEN), 'base64url').toString('hex');
      await expectRefused(proof({ claims: { ath: hex } }), /ath does not match/);
    });
  });

  describe('compares htu as RFC 9449 §4.3 says', () => {
    it.each([
      ['a query on the proof', `${URL_}?page=2`, URL_],
      ['a fragment on the proof', `${URL_}#top`, URL_],
      ['a query on the request', URL_, `${URL_}?page=2&sort=asc`],
      ['different queries on both', `${URL_}?a=1`, `${URL_}?b=2#x`],
      ['scheme and host in upper case', 'HTTPS://APP.EXAMPLE.COM/reports/q3', URL_],
      ['the default port spelled out', 'https://app.example.com:443/reports/q3', URL_],
    ])('accepting %s', async (_, htu, url) => {
      await expect(check(proof({ claims: { htu } }), { url })).resolves.toMatchObject({ jtiHash: expect.any(String) });
    });
  });

  describe('with server nonces required (RFC 9449 §8)', () => {
    const nonces = new DpopNonces(Buffer.alloc(32, 7), 'shared');

    it('accepts a proof carrying the current nonce', async () => {
      await expect(check(proof({ claims: { nonce: nonces.current(NOW) } }), { nonces })).resolves.toHaveProperty('jtiHash');
    });

    it('answers use_dpop_nonce for a proof without a nonce, or with one that is not current', async () => {
      for (const nonce of [undefined, nonces.current(NOW - 3600), new DpopNonces(Buffer.alloc(32, 8), 'shared').current(NOW)]) {
        const refusal = check(proof({ claims: nonce === undefined ? {} : { nonce } }), { nonces });
        await expect(refusal).rejects.toBeInstanceOf(DpopNonceRequired);
        await expect(refusal).rejects.toMatchObject({ code: 'use_dpop_nonce', message: expect.stringMatching(/DPoP-Nonce header/) });
      }
    });

    it('still refuses a bad proof as invalid_dpop_proof first, whatever its nonce', async () => {
      await expectRefused(proof({ claims: { htm: 'POST' } }), /method POST/, { nonces });
    });
  });

  it('says a replayed proof was already used, with the same error class and code', () => {
    const error = replayedProof();
    expect(error).toBeInstanceOf(DpopInvalid);
    expect(error).toMatchObject({ code: 'invalid_dpop_proof', message: expect.stringMatching(/already used: make a new proof for every request/) });
  });
});

describe('normalizeHtu', () => {
  it.each([
    ['drops query and fragment', 'https://a.example/p/q?x=1#f', 'https://a.example/p/q'],
    ['case-folds scheme and host but not the path', 'HTTPS://A.Example/P', 'https://a.example/P'],
    ['drops a default port and keeps any other', 'https://a.example:443/p', 'https://a.example/p'],
    ['keeps a port that is not the default', 'http://a.example:8080/p', 'http://a.example:8080/p'],
    ['gives an empty path as "/"', 'https://a.example', 'https://a.example/'],
    ['keeps a trailing slash', 'https://a.example/p/', 'https://a.example/p/'],
    ['answers a string that is not a URL as it is', 'not a url', 'not a url'],
  ])('%s', (_, raw, normalized) => {
    expect(normalizeHtu(raw)).toBe(normalized);
  });
});

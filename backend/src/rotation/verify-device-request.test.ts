import { createHmac } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, GeneralSign, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { deviceKid, KEY_CONFIRM_TYP, KEY_ROTATION_TYP, publicP256Jwk, type DualSignedJws, type ErrorCode } from '@postern/shared';
import { HttpError } from '../http/http-error.js';
import { verifyDeviceRequest, verifyRotationRequest, type KeyHolder } from './verify-device-request.js';

const NOW = 1_750_000_000;
const DEVICE = '7f1b7c5e-4c36-4d0e-9a53-0d8a1f6c2b11';
const NONCE = 'n'.repeat(43);

interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
  kid: string;
}
async function newKey(alg: 'ES256' | 'ES384' = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, kid: await deviceKid(jwk) };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('verifyRotationRequest: a request signed by the enrolled key and the new one', () => {
  let enrolled: Key;
  let next: Key;
  let stranger: Key;
  beforeAll(async () => {
    [enrolled, next, stranger] = await Promise.all([newKey(), newKey(), newKey()]);
  });

  const claims = (over: Record<string, unknown> = {}) => ({ device_id: DEVICE, new_kid: next.kid, nonce: NONCE, iat: NOW, ...over });

  /** The honest request, built with jose's own general-JSON signer; each part can be replaced. */
  async function request(o: { claims?: Record<string, unknown>; first?: { key?: CryptoKey; header?: Record<string, unknown> }; second?: { key?: CryptoKey; header?: Record<string, unknown> } } = {}): Promise<DualSignedJws> {
    const signer = new GeneralSign(new TextEncoder().encode(JSON.stringify(claims(o.claims))));
    signer.addSignature(o.first?.key ?? enrolled.privateKey).setProtectedHeader({ alg: 'ES256', typ: KEY_ROTATION_TYP, kid: enrolled.kid, ...o.first?.header });
    signer.addSignature(o.second?.key ?? next.privateKey).setProtectedHeader({ alg: 'ES256', typ: KEY_ROTATION_TYP, jwk: next.jwk, ...o.second?.header });
    const jws = await signer.sign();
    return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected ?? '', signature: s.signature })) };
  }

  const context = (o: { nonceIssued?: boolean } = {}) => ({
    now: NOW,
    maxSkewS: 120,
    nonceIssued: () => o.nonceIssued ?? true,
    findEnrolled: async (kid: string): Promise<(KeyHolder & { kid: string }) | null> => (kid === enrolled.kid ? { deviceId: DEVICE, kid, jwk: publicP256Jwk.parse(enrolled.jwk) } : null),
  });

  async function expectRefused(jws: DualSignedJws | Promise<DualSignedJws>, code: ErrorCode, words: RegExp, ctx = context()): Promise<void> {
    const refusal = verifyRotationRequest(await jws, ctx);
    await expect(refusal).rejects.toBeInstanceOf(HttpError);
    await expect(refusal).rejects.toMatchObject({ code, message: expect.stringMatching(words) });
  }

  it('accepts the honest request and names the device, its enrolled key and the new key', async () => {
    const verified = await verifyRotationRequest(await request(), context());
    expect(verified.holder).toMatchObject({ deviceId: DEVICE, kid: enrolled.kid });
    expect(verified.claims.new_kid).toBe(next.kid);
    expect(verified.newJwk).toEqual(publicP256Jwk.parse(next.jwk));
  });

  it('refuses a first signature made by a key other than the enrolled one', async () => {
    await expectRefused(request({ first: { key: stranger.privateKey } }), 'bad_signature', /^the first signature does not verify with the enrolled device key$/);
  });

  it('refuses a second signature not made by the key its header carries (possession of the new key unproven)', async () => {
    await expectRefused(request({ second: { key: stranger.privateKey } }), 'bad_signature', /^the second signature does not verify with the new key its header carries$/);
  });

  it('refuses a new_kid that is not the thumbprint of the key that signed second', async () => {
    await expectRefused(request({ claims: { new_kid: stranger.kid } }), 'malformed', /new_kid is not the RFC 7638 thumbprint/);
  });

  it('refuses rotating to the enrolled key itself', async () => {
    await expectRefused(request({ claims: { new_kid: enrolled.kid }, second: { key: enrolled.privateKey, header: { jwk: enrolled.jwk } } }), 'malformed', /the new key is the enrolled key/);
  });

  it('refuses the signatures in the other order', async () => {
    const honest = await request();
    await expectRefused({ payload: honest.payload, signatures: [honest.signatures[1], honest.signatures[0]] as DualSignedJws['signatures'] }, 'bad_signature', /must not carry a key of its own/);
  });

  it('refuses a payload changed after both signed', async () => {
    const honest = await request();
    await expectRefused({ ...honest, payload: b64(claims({ device_id: '00000000-0000-4000-8000-000000000000' })) }, 'bad_signature', /the first signature does not verify/);
  });

  it('refuses a signature copied from another payload (each signature covers this payload)', async () => {
    const honest = await request();
    const other = await request({ claims: { iat: NOW - 1 } });
    await expectRefused({ ...honest, signatures: [honest.signatures[0], other.signatures[1]] as DualSignedJws['signatures'] }, 'bad_signature', /the second signature does not verify/);
  });

  it('refuses a first signature naming a key no device has', async () => {
    await expectRefused(request({ first: { key: stranger.privateKey, header: { kid: stranger.kid } } }), 'unknown_key', /names no enrolled device key/);
  });

  it('refuses a request for another device than the key that signed it', async () => {
    await expectRefused(request({ claims: { device_id: '00000000-0000-4000-8000-000000000000' } }), 'unknown_key', /names a different device/);
  });

  it('refuses a nonce this server did not issue, and an iat outside the clock window', async () => {
    await expectRefused(request(), 'stale_nonce', /GET \/v1\/nonce/, context({ nonceIssued: false }));
    await expectRefused(request({ claims: { iat: NOW - 121 } }), 'clock_skew', /^iat is -121 s away/);
  });

  it.each([
    ['alg "none"', { alg: 'none' }, 'bad_signature', /algorithm "none" is refused/],
    ['HS256', { alg: 'HS256' }, 'bad_signature', /algorithm "HS256" is refused/],
    ['the confirmation typ', { typ: KEY_CONFIRM_TYP }, 'malformed', /typ must be "postern-key-rotation\+jwt"/],
    ['a jku', { jku: 'https://attacker.example/keys' }, 'malformed', /jku, x5c/],
  ] as const)('refuses a first header with %s', async (_, header, code, words) => {
    const honest = await request();
    const forged = { ...honest, signatures: [{ protected: b64({ alg: 'ES256', typ: KEY_ROTATION_TYP, kid: enrolled.kid, ...header }), signature: honest.signatures[0].signature }, honest.signatures[1]] as DualSignedJws['signatures'] };
    await expectRefused(forged, code, words);
  });

  it('refuses an HMAC "signature" keyed with the new public key', async () => {
    const honest = await request();
    const header = b64({ alg: 'HS256', typ: KEY_ROTATION_TYP, jwk: next.jwk });
    const mac = createHmac('sha256', JSON.stringify(next.jwk)).update(`${header}.${honest.payload}`).digest('base64url');
    await expectRefused({ ...honest, signatures: [honest.signatures[0], { protected: header, signature: mac }] as DualSignedJws['signatures'] }, 'bad_signature', /algorithm "HS256" is refused/);
  });

  it('refuses a second header without a P-256 public jwk, or with a private one, or naming a kid', async () => {
    const p384 = await newKey('ES384');
    await expectRefused(request({ second: { header: { jwk: p384.jwk } } }), 'malformed', /P-256 "jwk"/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    await expectRefused(request({ second: { key: privateKey, header: { jwk: await exportJWK(privateKey) } } }), 'malformed', /without private members/);
    await expectRefused(request({ second: { header: { kid: next.kid } } }), 'malformed', /without "kid"/);
  });
});

describe('verifyDeviceRequest: a compact request signed by one device key', () => {
  let key: Key;
  beforeAll(async () => {
    key = await newKey();
  });
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify({ device_id: DEVICE, nonce: NONCE, iat: NOW, ...claims }))).setProtectedHeader({ alg: 'ES256', typ: KEY_CONFIRM_TYP, kid: key.kid, ...header }).sign(key.privateKey);
  const ctx = { now: NOW, maxSkewS: 120, nonceIssued: () => true, findKey: async (kid: string) => (kid === key.kid ? { deviceId: DEVICE, jwk: publicP256Jwk.parse(key.jwk) } : null) };

  it('accepts a confirmation signed by the key it names', async () => {
    expect(await verifyDeviceRequest(await sign({}), KEY_CONFIRM_TYP, ctx)).toMatchObject({ kid: key.kid, holder: { deviceId: DEVICE } });
  });

  it('refuses a request of another kind (typ), so a rotation signature cannot stand in for a confirmation', async () => {
    await expect(verifyDeviceRequest(await sign({}, { typ: KEY_ROTATION_TYP }), KEY_CONFIRM_TYP, ctx)).rejects.toMatchObject({ code: 'malformed' });
  });

  it('refuses a request whose kid no device has, or whose claims were changed', async () => {
    await expect(verifyDeviceRequest(await sign({}, { kid: 'A'.repeat(43) }), KEY_CONFIRM_TYP, ctx)).rejects.toMatchObject({ code: 'unknown_key' });
    const [h, , s] = (await sign({})).split('.');
    await expect(verifyDeviceRequest(`${h}.${b64({ device_id: DEVICE, nonce: NONCE, iat: NOW + 1 })}.${s}`, KEY_CONFIRM_TYP, ctx)).rejects.toMatchObject({ code: 'bad_signature' });
  });
});

import { CompactSign, compactVerify, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCompactJws, signCompactJws, verifyCompactJws } from './compact-jws.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const HEADER = { alg: 'ES256' as const, typ: 'eat+jwt', kid: 'k1' };
const PAYLOAD = { sub: 'device', posture: { os: { name: 'Debian', build: 'ü 𝕏' } }, n: [1, 2, 3] };

describe('ES256 compact JWS with node:crypto', () => {
  let pair: KeyPair;
  let other: KeyPair;
  beforeAll(async () => {
    [pair, other] = await Promise.all([generateKeyPair('ES256'), generateKeyPair('ES256')]);
  });
  const joseSigned = (header: Record<string, unknown> = HEADER, payload: unknown = PAYLOAD, key = pair.privateKey) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header as { alg: string }).sign(key);

  it('verifies what jose signs, answering the payload bytes', async () => {
    const jws = parseCompactJws(await joseSigned());
    expect(jws?.header).toEqual(HEADER);
    const payload = await verifyCompactJws(jws!, pair.publicKey);
    expect(JSON.parse(payload!.toString('utf8'))).toEqual(PAYLOAD);
  });

  it('signs what jose verifies, with the header and payload bytes jose would write', async () => {
    const token = await signCompactJws(pair.privateKey, HEADER, PAYLOAD);
    const { payload, protectedHeader } = await compactVerify(token, pair.publicKey, { algorithms: ['ES256'] });
    expect(protectedHeader).toEqual(HEADER);
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(PAYLOAD);
    const [header, body] = (await joseSigned()).split('.');
    expect(token.split('.').slice(0, 2)).toEqual([header, body]);
  });

  it('refuses a key that is not P-256, whatever the header says', async () => {
    const [p384, ed] = await Promise.all([generateKeyPair('ES384'), generateKeyPair('EdDSA', { crv: 'Ed25519' })]);
    const jws = parseCompactJws(await joseSigned())!;
    expect(await verifyCompactJws(jws, p384.publicKey)).toBeNull();
    expect(await verifyCompactJws(jws, ed.publicKey)).toBeNull();
  });

  it('refuses a signature by another key, an altered payload and a truncated signature', async () => {
    const token = await joseSigned();
    const [header, , signature] = token.split('.');
    const jws = parseCompactJws(token)!;
    expect(await verifyCompactJws(jws, other.publicKey)).toBeNull();
    expect(await verifyCompactJws(parseCompactJws(`${header}.${b64({ ...PAYLOAD, sub: 'another' })}.${signature}`)!, pair.publicKey)).toBeNull();
    expect(await verifyCompactJws(parseCompactJws(`${header}.${jws.payload}.${signature!.slice(0, 80)}`)!, pair.publicKey)).toBeNull();
    expect(await verifyCompactJws(parseCompactJws(`${header}.${jws.payload}.`)!, pair.publicKey)).toBeNull();
  });

  it('refuses, even when correctly signed, a header naming another algorithm or critical extensions', async () => {
    for (const header of [{ ...HEADER, crit: ['b64'], b64: false }, { ...HEADER, alg: 'ES384' }]) {
      const token = await signCompactJws(pair.privateKey, header as unknown as typeof HEADER, PAYLOAD);
      expect(await verifyCompactJws(parseCompactJws(token)!, pair.publicKey)).toBeNull();
    }
  });

  it.each([
    ['no dots', 'abc'],
    ['two parts', `${b64(HEADER)}.${b64(PAYLOAD)}`],
    ['four parts', `${b64(HEADER)}.${b64(PAYLOAD)}.AAAA.AAAA`],
    ['a header that is not base64url', `${b64(HEADER)}+.${b64(PAYLOAD)}.AAAA`],
    ['padding', `${b64(HEADER)}=.${b64(PAYLOAD)}.AAAA`],
    ['a part of impossible length', `${b64(HEADER)}.${b64(PAYLOAD)}A.AAAA`],
    ['a header that is not JSON', `${b64('not json')}.${b64(PAYLOAD)}.AAAA`],
    ['a header that is an array', `${b64([HEADER])}.${b64(PAYLOAD)}.AAAA`],
    ['a header that is null', `${b64(null)}.${b64(PAYLOAD)}.AAAA`],
    ['an empty header', `.${b64(PAYLOAD)}.AAAA`],
  ])('does not read as a JWS: %s', (_, token) => {
    expect(parseCompactJws(token)).toBeNull();
  });
});

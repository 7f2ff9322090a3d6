import { createHash, createHmac } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENROLL_TYP, type ErrorCode } from '@postern/shared';
import { FakeDevice, notPublicP256Jwks } from '@postern/testkit/fake-device';
import { HttpError } from '../http/http-error.js';
import type { PolicyCache } from '../policy-lifecycle/policy-cache.js';
import type { Database } from '../store/schema.js';
import { enrollDevice } from './enroll.js';

const NOW = 1_750_000_000;
const MAX_SKEW_S = 300;
const ENROLLMENT_TOKEN = `pet_${'ab'.repeat(32)}`;
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A dependency that throws on first use: what reaches it got past every check made before the database. */
function untouchable<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_, member) {
      throw new Error(`${name} was used (${String(member)})`);
    },
  });
}

const deps = { db: untouchable<Kysely<Database>>('the database'), policies: untouchable<PolicyCache>('the policy cache') };

describe('enrollDevice, before it touches the database', () => {
  let device: FakeDevice;
  let other: FakeDevice;
  beforeAll(async () => {
    [device, other] = await Promise.all([FakeDevice.create(), FakeDevice.create()]);
  });

  const honestClaims = (): Record<string, unknown> => ({
    enrollment_token: ENROLLMENT_TOKEN,
    iat: NOW,
    ueid: device.ueid,
    machine_id: createHash('sha256').update(device.hostname).digest('hex'),
    hostname: device.hostname,
    platform: device.platform,
    agent_version: '0.1.0',
  });

  /** The device's honest request, with header members or claims replaced, or raw payload bytes. */
  function request(o: { header?: Record<string, unknown>; claims?: Record<string, unknown>; payload?: string; key?: CryptoKey } = {}): Promise<string> {
    const payload = o.payload ?? JSON.stringify({ ...honestClaims(), ...o.claims });
    return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', typ: ENROLL_TYP, jwk: device.publicJwk, ...o.header }).sign(o.key ?? device.privateKey);
  }

  async function expectRefused(jws: string | Promise<string>, code: ErrorCode, words: RegExp): Promise<void> {
    const refusal = enrollDevice(deps, await jws, { now: NOW });
    await expect(refusal).rejects.toBeInstanceOf(HttpError);
    await expect(refusal).rejects.toMatchObject({ code, status: 400, message: expect.stringMatching(words) });
  }

  const expectToReachTheDatabase = async (jws: string | Promise<string>): Promise<void> => {
    await expect(enrollDevice(deps, await jws, { now: NOW })).rejects.toThrow(/^the database was used \(transaction\)$/);
  };

  describe('lets through to the database', () => {
    it("the FakeDevice's own honest request, so the refusals below are refusals of what they change", async () => {
      await expectToReachTheDatabase(device.enrollmentRequest(ENROLLMENT_TOKEN, { iat: NOW }));
      await expectToReachTheDatabase(request());
    });

    it.each([
      ['behind', -MAX_SKEW_S],
      ['ahead of', MAX_SKEW_S],
    ])('an iat exactly the window %s the server clock', async (_, offset) => {
      await expectToReachTheDatabase(request({ claims: { iat: NOW + offset } }));
    });

    it('a request with a serial', async () => {
      await expectToReachTheDatabase(request({ claims: { serial: 'C02XK0AAJGH5' } }));
    });
  });

  describe('refuses with malformed', () => {
    it('a request that is not a readable JWS', async () => {
      await expectRefused('enroll-me', 'malformed', /^the enrollment request is not a readable JWS$/);
    });

    it.each([
      ['JWT', 'JWT'],
      ['missing', undefined],
      ['the evidence typ', 'eat+jwt'],
    ])('a typ that is %s', async (_, typ) => {
      await expectRefused(request({ header: { typ } }), 'malformed', /the JWS header typ must be "postern-enroll\+jwt"/);
    });

    it.each(notPublicP256Jwks)('an embedded jwk %s', async (_, jwkOf) => {
      await expectRefused(request({ header: { jwk: await jwkOf(device) } }), 'malformed', /must carry the device public key as a P-256 "jwk" without private members/);
    });

    it('claims that are not JSON', async () => {
      await expectRefused(request({ payload: 'enrollment_token=pet_1' }), 'malformed', /^the enrollment claims are not JSON$/);
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['no enrollment_token', { enrollment_token: undefined }, /enrollment_token: /],
      ['an enrollment_token shorter than 16 characters', { enrollment_token: 'pet_short' }, /enrollment_token: Too small/],
      ['the raw machine id instead of its SHA-256', { machine_id: '4c4c4544-0042-3510-8052-b4c04f384d32' }, /machine_id: expected SHA-256 hex/],
      ['a platform Postern does not know', { platform: 'freebsd' }, /platform: /],
      ['an empty hostname', { hostname: '' }, /hostname: Too small/],
      ['a ueid that is not 17 bytes', { ueid: 'AQID' }, /ueid: expected base64url of 17 bytes \(UEID type RAND\)/],
      ['an iat as a string', { iat: String(NOW) }, /iat: Invalid input: expected number, received string/],
      ['no agent_version', { agent_version: undefined }, /agent_version: /],
      ['a serial longer than 128 characters', { serial: 's'.repeat(129) }, /serial: Too big/],
    ])('claims with %s', async (_, claims, words) => {
      await expectRefused(request({ claims }), 'malformed', new RegExp(`^the enrollment claims do not match the protocol: ${words.source}`));
    });

    // PostgreSQL text columns cannot hold NUL (22021): refused before the database, as 400 not 500.
    it('a hostname with a NUL character, which PostgreSQL cannot store', async () => {
      await expectRefused(request({ claims: { hostname: 'laptop\u0000' } }), 'malformed', /hostname: must not contain a NUL character/);
    });
  });

  describe('refuses with bad_signature', () => {
    it('alg "none" with an empty signature', async () => {
      await expectRefused(`${b64({ alg: 'none', typ: ENROLL_TYP, jwk: device.publicJwk })}.${b64(honestClaims())}.`, 'bad_signature', /^algorithm "none" is refused: enrollment requests must be signed ES256$/);
    });

    it('HS256 keyed with the embedded public key as JWK JSON', async () => {
      const input = `${b64({ alg: 'HS256', typ: ENROLL_TYP, jwk: device.publicJwk })}.${b64(honestClaims())}`;
      await expectRefused(`${input}.${createHmac('sha256', JSON.stringify(device.publicJwk)).update(input).digest('base64url')}`, 'bad_signature', /algorithm "HS256" is refused/);
    });

    it.each(['ES384', 'RS256'] as const)('%s with a matching embedded key of that type', async (alg) => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk: JWK = await exportJWK(publicKey);
      await expectRefused(request({ header: { alg, jwk }, key: privateKey }), 'bad_signature', new RegExp(`algorithm "${alg}" is refused`));
    });

    it('a signature not made by the embedded key', async () => {
      await expectRefused(request({ key: other.privateKey }), 'bad_signature', /^the enrollment request signature does not verify with its embedded key$/);
    });

    it('claims changed after signing', async () => {
      const [header, , signature] = (await request()).split('.');
      await expectRefused(`${header}.${b64({ ...honestClaims(), hostname: 'someone-else' })}.${signature}`, 'bad_signature', /does not verify with its embedded key/);
    });

    // The jwk has the shape of a P-256 key but is no point of the curve: it cannot be imported,
    // so nothing verifies with it.
    it('an embedded jwk that is not a point of the curve', async () => {
      await expectRefused(request({ header: { jwk: { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'A'.repeat(43) } } }), 'bad_signature', /does not verify with its embedded key/);
    });
  });

  describe('refuses with clock_skew', () => {
    it.each([
      ['behind', -(MAX_SKEW_S + 1), /^iat is -301 s away from the server's clock: synchronise the device clock$/],
      ['ahead of', MAX_SKEW_S + 1, /^iat is 301 s away from the server's clock/],
    ])('an iat one second more than the window %s the server clock', async (_, offset, words) => {
      await expectRefused(request({ claims: { iat: NOW + offset } }), 'clock_skew', words);
    });
  });
});

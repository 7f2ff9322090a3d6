import { createHmac, randomUUID } from 'node:crypto';
import { CompactSign, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { EVIDENCE_PROFILE, publicP256Jwk, type StreamErrorCode } from '@postern/shared';
import { FakeDevice, type EvidenceOverrides } from '@postern/testkit/fake-device';
import { healthyLinuxPosture } from '@postern/testkit/postures';
import { signCompactJws } from '../keys/compact-jws.js';
import { PublicKeyCache } from '../keys/public-key-cache.js';
import type { Device } from '../store/schema.js';
import { AttestationError } from './attestation-error.js';
import { verifyEvidence, type EvidenceContext } from './verify-evidence.js';

const NONCE = 'n'.repeat(43);
const OTHER_NONCE = 'o'.repeat(43);
const MAX_SKEW_S = 120;
const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The row enrollment would have stored for a fake device. */
function enrolledRow(device: FakeDevice): Device {
  return {
    id: device.deviceId,
    kid: device.kid,
    public_jwk: publicP256Jwk.parse(device.publicJwk),
    ueid: device.ueid,
    machine_id: 'a'.repeat(64),
    hostname: device.hostname,
    platform: device.platform,
    serial: null,
    agent_version: '0.1.0',
    group_name: 'employees',
    owner: null,
    status: 'active',
    enrolled_at: new Date(),
    expires_at: null,
    approved_at: null,
    revoked_at: null,
    enrollment_token_id: null,
    last_seq: -1,
    last_seen_at: null,
  };
}

async function enrolledDevice(): Promise<FakeDevice> {
  const device = await FakeDevice.create();
  device.deviceId = randomUUID();
  return device;
}

/** The honest claims `FakeDevice.evidence` signs, for tokens built by hand. */
function honestClaims(device: FakeDevice, now: number): Record<string, unknown> {
  return { eat_profile: EVIDENCE_PROFILE, iat: now, eat_nonce: NONCE, ueid: device.ueid, swname: 'postern-agent', swversion: ['0.1.0'], device_id: device.deviceId, seq: 1, posture: healthyLinuxPosture(now) };
}

describe('verifyEvidence', () => {
  let device: FakeDevice;
  let other: FakeDevice;
  let now: number;
  let ctx: EvidenceContext;

  beforeEach(async () => {
    [device, other] = await Promise.all([enrolledDevice(), enrolledDevice()]);
    now = Math.floor(Date.now() / 1000);
    const rows = new Map([device, other].map((d) => [d.kid, enrolledRow(d)]));
    ctx = { expectedNonce: NONCE, now, maxSkewS: MAX_SKEW_S, findDeviceByKid: async (kid) => rows.get(kid) ?? null, publicKeys: new PublicKeyCache() };
  });

  const evidence = (o: EvidenceOverrides = {}): Promise<string> => device.evidence(NONCE, { iat: now, ...o });

  async function expectRefused(token: string | Promise<string>, code: StreamErrorCode, words: RegExp, context: EvidenceContext = ctx): Promise<void> {
    const refusal = verifyEvidence(await token, context);
    await expect(refusal).rejects.toBeInstanceOf(AttestationError);
    await expect(refusal).rejects.toMatchObject({ code, message: expect.stringMatching(words) });
  }

  describe('accepts', () => {
    it('honest evidence, answering the device row and the parsed claims', async () => {
      const { device: row, claims } = await verifyEvidence(await evidence({ seq: 7 }), ctx);
      expect(row).toBe(await ctx.findDeviceByKid(device.kid));
      expect(claims).toMatchObject({ eat_profile: EVIDENCE_PROFILE, device_id: device.deviceId, ueid: device.ueid, eat_nonce: NONCE, iat: now, seq: 7, swversion: ['0.1.0'] });
    });

    it('iat exactly at the skew boundary on either side of the server clock', async () => {
      await expect(verifyEvidence(await evidence({ iat: now - MAX_SKEW_S }), ctx)).resolves.toMatchObject({ claims: { iat: now - MAX_SKEW_S } });
      await expect(verifyEvidence(await evidence({ iat: now + MAX_SKEW_S }), ctx)).resolves.toMatchObject({ claims: { iat: now + MAX_SKEW_S } });
    });

    it('seq 0 and seq at the largest safe integer', async () => {
      await expect(verifyEvidence(await evidence({ seq: 0 }), ctx)).resolves.toMatchObject({ claims: { seq: 0 } });
      await expect(verifyEvidence(await evidence({ seq: Number.MAX_SAFE_INTEGER }), ctx)).resolves.toMatchObject({ claims: { seq: Number.MAX_SAFE_INTEGER } });
    });
  });

  describe('refuses with bad_signature', () => {
    it('a token that is not a JWS', async () => {
      await expectRefused('not-a-jws', 'bad_signature', /not a readable JWS/);
    });

    it('alg "none" with an empty signature', async () => {
      await expectRefused(`${b64({ alg: 'none', typ: 'eat+jwt', kid: device.kid })}.${b64(honestClaims(device, now))}.`, 'bad_signature', /algorithm "none" is refused: attestations must be signed ES256/);
    });

    it.each([
      ['its public key as PEM text', async (d: FakeDevice) => exportSPKI(await importedPublicKey(d))],
      ['its public JWK as JSON', async (d: FakeDevice) => JSON.stringify(d.publicJwk)],
    ])('HS256 keyed with the device public key, %s', async (_, secretOf) => {
      const input = `${b64({ alg: 'HS256', typ: 'eat+jwt', kid: device.kid })}.${b64(honestClaims(device, now))}`;
      const forged = `${input}.${createHmac('sha256', await secretOf(device)).update(input).digest('base64url')}`;
      await expectRefused(forged, 'bad_signature', /algorithm "HS256" is refused/);
    });

    it.each(['ES384', 'RS256'] as const)('%s, even signed by a real key of that type', async (alg) => {
      const { privateKey } = await generateKeyPair(alg);
      await expectRefused(evidence({ header: { alg }, signWith: privateKey }), 'bad_signature', new RegExp(`algorithm "${alg}" is refused`));
    });

    it.each([
      ['jwk', () => device.publicJwk],
      ['jku', () => 'https://attacker.example/jwks.json'],
      ['x5c', () => ['MIIB']],
    ])('a header carrying its own key as %s', async (member, value) => {
      await expectRefused(evidence({ header: { [member]: value() } }), 'bad_signature', /must not carry its own key/);
    });

    it('a header naming critical extensions, even correctly signed', async () => {
      // jose will not sign a crit it does not know: signed here under that header by hand.
      const header = { alg: 'ES256', typ: 'eat+jwt', kid: device.kid, crit: ['b64'], b64: false } as unknown as Parameters<typeof signCompactJws>[1];
      await expectRefused(signCompactJws(device.privateKey, header, honestClaims(device, now)), 'bad_signature', /must not name critical header extensions/);
    });

    it('a signature by another key under the right kid', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      await expectRefused(evidence({ signWith: privateKey }), 'bad_signature', /does not verify with the enrolled device key/);
    });

    it("the kid of another enrolled device over this device's signature", async () => {
      await expectRefused(evidence({ header: { kid: other.kid } }), 'bad_signature', /does not verify with the enrolled device key/);
    });

    it('a payload altered after signing', async () => {
      const [header, , signature] = (await evidence()).split('.');
      await expectRefused(`${header}.${b64({ ...honestClaims(device, now), seq: 999 })}.${signature}`, 'bad_signature', /does not verify/);
    });
  });

  describe('refuses with unknown_key', () => {
    it('a kid no device is enrolled with', async () => {
      const stranger = await enrolledDevice();
      await expectRefused(stranger.evidence(NONCE, { iat: now }), 'unknown_key', /no device is enrolled with this key/);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['not a string', 42],
      ['longer than 128 characters', 'k'.repeat(129)],
    ])('a kid that is %s', async (_, kid) => {
      await expectRefused(evidence({ header: { kid } }), 'unknown_key', /no kid naming an enrolled device key/);
    });

    it('a kid whose stored key does not hash to it', async () => {
      const swapped: EvidenceContext = { ...ctx, findDeviceByKid: async (kid) => (kid === device.kid ? { ...enrolledRow(device), public_jwk: enrolledRow(other).public_jwk } : null) };
      await expectRefused(evidence(), 'unknown_key', /does not match its kid/, swapped);
    });

    it("a device_id claim naming another device than the key's", async () => {
      await expectRefused(evidence({ claims: { device_id: other.deviceId } }), 'unknown_key', /names a different device than the key that signed it/);
    });

    it("a ueid claim other than the device's enrolled one", async () => {
      await expectRefused(evidence({ claims: { ueid: other.ueid } }), 'unknown_key', /names a different device/);
    });
  });

  describe('refuses with schema', () => {
    it('a header typ other than eat+jwt', async () => {
      await expectRefused(evidence({ header: { typ: 'JWT' } }), 'schema', /typ must be "eat\+jwt"/);
      await expectRefused(evidence({ header: { typ: undefined } }), 'schema', /typ must be "eat\+jwt"/);
    });

    it('a signed payload that is not JSON', async () => {
      const token = await new CompactSign(new TextEncoder().encode('seq=1')).setProtectedHeader({ alg: 'ES256', typ: 'eat+jwt', kid: device.kid }).sign(device.privateKey);
      await expectRefused(token, 'schema', /payload is not JSON/);
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['seq missing', { seq: undefined }, /^the attestation claims do not match the protocol: seq: /],
      ['seq negative', { seq: -1 }, /seq: Too small: expected number to be >=0/],
      ['seq a fraction', { seq: 1.5 }, /seq: Invalid input: expected int/],
      ['seq above the largest safe integer', { seq: 2 ** 53 }, /seq: Too big: expected int to be <=9007199254740991/],
      ['seq a string', { seq: '1' }, /seq: Invalid input: expected number, received string/],
      ['swversion not an array', { swversion: '0.1.0' }, /swversion: Invalid input: expected tuple, received string/],
      ['swversion with two entries', { swversion: ['0.1.0', '0.2.0'] }, /swversion/],
      ['eat_profile another profile', { eat_profile: 'urn:postern:evidence:2' }, /eat_profile: .*urn:postern:evidence:1/],
      ['swname another program', { swname: 'not-postern' }, /swname: /],
      ['iat a fraction', { iat: 1.5 }, /iat: /],
      ['device_id not a UUID', { device_id: 'laptop-1' }, /device_id: /],
      ['eat_nonce not 32 bytes of base64url', { eat_nonce: 'short' }, /eat_nonce: expected base64url of 32 bytes/],
    ])('claims with %s', async (_, claims, words) => {
      await expectRefused(evidence({ claims }), 'schema', words);
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['without the required firewall section', { firewall: undefined }, /posture\.firewall: /],
      ['with a section whose status is neither ok nor error', { os: { status: 'maybe', collected_at: 0 } }, /posture\.os\.status: /],
      ['with an error section lacking its reason', { patches: { status: 'error', collected_at: 0 } }, /posture\.patches\.error: /],
      ['with an ok section missing a fact', { firewall: { status: 'ok', collected_at: 0, enabled: true, profiles: [] } }, /posture\.firewall\.backend: /],
      ['with a volume whose encrypted is a string', { disk_encryption: { status: 'ok', collected_at: 0, volumes: [{ mount: '/', encrypted: 'yes', method: null, state: 'on' }] } }, /posture\.disk_encryption\.volumes\.0\.encrypted: /],
      ['with negative pending updates', { patches: { status: 'ok', collected_at: 0, pending: -1, pending_security: 0, last_installed_at: null, auto_updates: null, source: 'apt' } }, /posture\.patches\.pending: /],
    ])('a posture %s', async (_, sections, words) => {
      await expectRefused(evidence({ posture: { ...healthyLinuxPosture(now), ...sections } }), 'schema', words);
    });

    it('a posture that is not an object', async () => {
      await expectRefused(evidence({ claims: { posture: 'ok' } }), 'schema', /posture: /);
    });

    it('names at most the first three problems', async () => {
      const error = await verifyEvidence(await evidence({ claims: { seq: -1, swname: 'x', eat_profile: 'x', device_id: 'x', ueid: 'x' } }), ctx).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'schema' });
      expect((error as Error).message.split('; ')).toHaveLength(3);
    });

    // PostgreSQL refuses "\u0000" in jsonb: refused here, it can never reach (and fail) a batch.
    it('a posture string with a NUL character, which PostgreSQL cannot store in jsonb', async () => {
      const posture = healthyLinuxPosture(now);
      if (posture.os.status !== 'ok') throw new Error('expected an ok os section');
      await expectRefused(evidence({ posture: { ...posture, os: { ...posture.os, name: 'Debian\u0000GNU/Linux' } } }), 'schema', /posture\.os\.name: must not contain a NUL character/);
      await expectRefused(evidence({ posture: { ...posture, os: { ...posture.os, kernel: '6.1\uDC00' } } }), 'schema', /posture\.os\.kernel: .*unpaired UTF-16 surrogate/);
    });
  });

  describe('refuses with stale_nonce', () => {
    it('an eat_nonce other than the one this server issued last', async () => {
      await expectRefused(evidence({ nonce: OTHER_NONCE }), 'stale_nonce', /not the nonce this server issued last: use the nonce from the latest challenge/);
    });

    it('any eat_nonce when no nonce is outstanding', async () => {
      await expectRefused(evidence(), 'stale_nonce', /not the nonce this server issued last/, { ...ctx, expectedNonce: null });
    });
  });

  describe('refuses with clock_skew', () => {
    it.each([
      ['behind', -(MAX_SKEW_S + 1), /iat is -121 s away from the server's clock \(at most 120 s\): synchronise the device clock/],
      ['ahead of', MAX_SKEW_S + 1, /iat is 121 s away from the server's clock \(at most 120 s\)/],
    ])('an iat one second more than the window %s the server clock', async (_, offset, words) => {
      await expectRefused(evidence({ iat: now + offset }), 'clock_skew', words);
    });
  });

  describe('checks in the order that leaks least', () => {
    it('refuses a forged signature before reading the claims, so bad claims under a bad signature are bad_signature', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      await expectRefused(evidence({ signWith: privateKey, claims: { seq: -1 }, nonce: OTHER_NONCE }), 'bad_signature', /does not verify/);
    });

    it('refuses claims off-schema before comparing the nonce and the clock', async () => {
      await expectRefused(evidence({ claims: { seq: -1 }, nonce: OTHER_NONCE, iat: now - 3600 }), 'schema', /seq: /);
    });

    it('refuses a stale nonce before looking at the clock', async () => {
      await expectRefused(evidence({ nonce: OTHER_NONCE, iat: now - 3600, posture: healthyLinuxPosture(now - 3600) }), 'stale_nonce', /nonce/);
    });
  });
});

async function importedPublicKey(device: FakeDevice): Promise<CryptoKey> {
  const key = await new PublicKeyCache().get(device.kid, enrolledRow(device).public_jwk);
  if (!key) throw new Error('the fake device key does not hash to its kid');
  return key;
}

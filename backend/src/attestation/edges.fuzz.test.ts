import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import type { Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENROLL_TYP, EVIDENCE_PROFILE, EVIDENCE_TYP, publicP256Jwk, unstorableTextAt } from '@postern/shared';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { enrollDevice } from '../enrollment/enroll.js';
import { HttpError } from '../http/http-error.js';
import { PublicKeyCache } from '../keys/public-key-cache.js';
import type { PolicyCache } from '../policy-lifecycle/policy-cache.js';
import type { Database, Device } from '../store/schema.js';
import { AttestationError } from './attestation-error.js';
import { verifyEvidence } from './verify-evidence.js';

/**
 * Fuzzing the two edges anyone can reach: attestations and enrollment requests, validly signed
 * but with hostile content (strings with NUL, lone surrogates, control and far-plane characters;
 * wrong types; huge numbers; random JSON in place of the posture). Each either passes its schema,
 * and then holds nothing the database cannot store, or is refused with the protocol's own error:
 * never another exception, which would be a 500 for the sender and perhaps for others.
 */
const NONCE = 'n'.repeat(43);
const NOW = Math.floor(Date.now() / 1000);

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\uD800', 'x\uDC00', '\uFFFF', '\u202E', '%00', "'; drop table devices; --", '𝕏'.repeat(300), ''),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(hostileText, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(hostileText, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }));

/** An honest posture with one fact replaced by something hostile, at a random depth. */
const hostilePosture = fc
  .tuple(fc.constantFrom('linux', 'darwin', 'win32' as const), fc.array(fc.tuple(fc.constantFrom('os', 'disk_encryption', 'firewall', 'patches'), fc.string({ maxLength: 12 }), hostileValue), { minLength: 1, maxLength: 3 }))
  .map(([platform, edits]) => {
    const posture = structuredClone(fakePosture({ platform, now: NOW })) as unknown as Record<string, Record<string, unknown>>;
    for (const [section, key, value] of edits) {
      const target = posture[section] as Record<string, unknown>;
      const known = Object.keys(target);
      target[known.length > 0 && key.length % 2 === 0 ? (known[key.length % known.length] as string) : key] = value;
    }
    return posture;
  });

describe('the attestation and enrollment edges, fuzzed', () => {
  let device: FakeDevice;
  let row: Device;
  beforeAll(async () => {
    device = await FakeDevice.create();
    device.deviceId = randomUUID();
    row = {
      id: device.deviceId, kid: device.kid, public_jwk: publicP256Jwk.parse(device.publicJwk), ueid: device.ueid, machine_id: 'a'.repeat(64), hostname: device.hostname,
      platform: device.platform, serial: null, agent_version: '0.1.0', group_name: 'employees', owner: null, status: 'active', enrolled_at: new Date(), expires_at: null,
      approved_at: null, revoked_at: null, enrollment_token_id: null, last_seq: -1, last_seen_at: null,
    };
  });
  const sign = (claims: unknown, typ: string, extra: Record<string, unknown> = {}) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', typ, ...extra }).sign(device.privateKey);

  it('answers every validly signed attestation with a result or the protocol’s own refusal, and lets through only storable text', async () => {
    const ctx = { expectedNonce: NONCE, now: NOW, maxSkewS: 120, findDeviceByKid: async (kid: string) => (kid === device.kid ? row : null), publicKeys: new PublicKeyCache() };
    await fc.assert(
      fc.asyncProperty(hostilePosture, fc.record({ swversion: fc.oneof(fc.tuple(hostileText), hostileValue), seq: fc.oneof(fc.nat(), fc.double(), fc.constant(2 ** 60)) }, { requiredKeys: [] }), async (posture, overrides) => {
        const claims = { eat_profile: EVIDENCE_PROFILE, iat: NOW, eat_nonce: NONCE, ueid: device.ueid, swname: 'postern-agent', swversion: ['0.1.0'], device_id: device.deviceId, seq: 1, posture, ...overrides };
        const outcome = await verifyEvidence(await sign(claims, EVIDENCE_TYP, { kid: device.kid }), ctx).then(
          (ok) => ok,
          (error: unknown) => error,
        );
        if (outcome instanceof AttestationError) {
          expect(outcome.code).toBe('schema');
          return;
        }
        expect(outcome).not.toBeInstanceOf(Error);
        expect(unstorableTextAt((outcome as { claims: unknown }).claims)).toBeNull();
      }),
      { numRuns: 250 },
    );
  });

  it('refuses any string that is not a signed attestation with the protocol’s own error', async () => {
    const ctx = { expectedNonce: NONCE, now: NOW, maxSkewS: 120, findDeviceByKid: async () => row, publicKeys: new PublicKeyCache() };
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileText, fc.tuple(hostileText, hostileText, hostileText).map((parts) => parts.join('.'))), async (token) => {
        await expect(verifyEvidence(token, ctx)).rejects.toBeInstanceOf(AttestationError);
      }),
      { numRuns: 300 },
    );
  });

  it('answers every validly signed enrollment request with a 400 that says why, or takes it to the database only when all of it can be stored', async () => {
    const touched = new Error('reached the database');
    const untouchable = <T extends object>() => new Proxy({} as T, { get: () => { throw touched; } });
    const deps = { db: untouchable<Kysely<Database>>(), policies: untouchable<PolicyCache>() };
    await fc.assert(
      fc.asyncProperty(fc.record({ hostname: hostileValue, serial: hostileValue, agent_version: hostileValue, platform: hostileValue }, { requiredKeys: [] }), async (overrides) => {
        const claims = {
          enrollment_token: `pet_${'ab'.repeat(32)}`, iat: NOW, ueid: device.ueid, machine_id: createHash('sha256').update('m').digest('hex'), hostname: 'laptop', platform: 'linux', agent_version: '0.1.0',
          ...overrides,
        };
        const outcome = await enrollDevice(deps, await sign(claims, ENROLL_TYP, { jwk: device.publicJwk }), { now: NOW }).then(
          () => null,
          (error: unknown) => error,
        );
        if (outcome === touched) {
          expect(unstorableTextAt(claims)).toBeNull();
          return;
        }
        expect(outcome).toBeInstanceOf(HttpError);
        expect(outcome).toMatchObject({ status: 400, code: 'malformed' });
      }),
      { numRuns: 250 },
    );
  });
});

import { createHmac, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { deviceKid, type CheckResult, type Verdict } from '@postern/shared';
import type { ServerKeys } from '../keys/signing-keys.js';
import { EarInvalid, signEar, verifyEar, VERIFIER_BUILD, type EarInput } from './ear.js';

const ISSUER = 'https://postern.example.com';
const NOW = 1_750_000_000;
const LIFETIME_S = 600;
const NONCE = 'n'.repeat(43);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** ServerKeys as `loadServerKeys` makes them, without a database: the active key and the published set. */
async function serverKeys(...retired: ServerKeys[]): Promise<ServerKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = await exportJWK(publicKey);
  const kid = await deviceKid(publicJwk);
  return { active: { kid, privateKey }, jwks: { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }, ...retired.flatMap((k) => k.jwks.keys)] } };
}

const check = (id: string, status: CheckResult['status'], exceptionUntil?: number): CheckResult => ({
  id,
  status,
  severity: 'high',
  weight: 10,
  message: `${id} is ${status}`,
  remediation: status === 'pass' ? null : `fix ${id}`,
  failing_since: status === 'pass' ? null : NOW - 60,
  exception: exceptionUntil === undefined ? null : { id: randomUUID(), until: exceptionUntil, reason: 'travel', granted_by: 'admin' },
});

describe('signEar and verifyEar', () => {
  let keys: ServerKeys;
  let stranger: ServerKeys;
  const deviceId = randomUUID();
  const deviceKidValue = 'dJ8s0kWq3w1Yc2m1tQm0i9a8kYx3f5Lr6p7n2b4v1cE';

  beforeAll(async () => {
    [keys, stranger] = await Promise.all([serverKeys(), serverKeys()]);
  });

  const input = (o: Partial<EarInput> = {}): EarInput => ({
    deviceId,
    kid: deviceKidValue,
    group: 'employees',
    verdict: 'compliant',
    score: 100,
    checks: [check('firewall.enabled', 'pass')],
    policyRef: 'employees@3',
    nonce: NONCE,
    now: NOW,
    lifetimeS: LIFETIME_S,
    ...o,
  });
  const sign = (o: Partial<EarInput> = {}): Promise<string> => signEar(keys, ISSUER, input(o));

  /** A token signed by the active server key with any header and claims, as a bug elsewhere could make one. */
  async function signedByServer(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: keys.active.kid, ...header }).sign(keys.active.privateKey);
  }

  async function expectRefused(token: string | Promise<string>, words: RegExp, o: { issuer?: string; now?: number; keys?: ServerKeys } = {}): Promise<void> {
    const refusal = verifyEar(o.keys ?? keys, o.issuer ?? ISSUER, await token, o.now ?? NOW);
    await expect(refusal).rejects.toBeInstanceOf(EarInvalid);
    await expect(refusal).rejects.toMatchObject({ code: 'invalid_token', message: expect.stringMatching(words) });
  }

  describe('sign', () => {
    it('with the active server key, ES256, and an explicit typ header', async () => {
      expect(decodeProtectedHeader(await sign())).toEqual({ alg: 'ES256', typ: 'JWT', kid: keys.active.kid });
    });

    it('the device as sub, bound to its key by cnf.jkt, for the lifetime asked', async () => {
      expect(decodeJwt(await sign())).toMatchObject({ iss: ISSUER, sub: deviceId, cnf: { jkt: deviceKidValue }, iat: NOW, exp: NOW + LIFETIME_S, jti: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    });

    it('a fresh jti for every result', async () => {
      expect(decodeJwt(await sign()).jti).not.toBe(decodeJwt(await sign()).jti);
    });

    it('the nonce of the attestation as eat_nonce, and none when there was none', async () => {
      expect(decodeJwt(await sign()).eat_nonce).toBe(NONCE);
      expect(decodeJwt(await sign({ nonce: undefined }))).not.toHaveProperty('eat_nonce');
    });

    it("Postern's own verdict, score, group and failing checks, leaving out passed checks and running exceptions", async () => {
      const checks = [check('firewall.enabled', 'pass'), check('disk_encryption.system_volume', 'fail'), check('os.min_version', 'unknown'), check('patches.max_pending_security', 'fail', NOW + 3600), check('screen_lock.enabled', 'fail', NOW - 1)];
      expect(decodeJwt(await sign({ verdict: 'noncompliant', score: 40, checks })).postern).toEqual({ verdict: 'noncompliant', score: 40, failing: ['disk_encryption.system_volume', 'os.min_version', 'screen_lock.enabled'], group: 'employees' });
    });
  });

  describe('claims named as the wire contract and Veraison spell them', () => {
    it('eat_profile is the Veraison EAR profile, and the verifier is named by ear.verifier-id', async () => {
      expect(decodeJwt(await sign())).toMatchObject({ eat_profile: 'tag:github.com,2023:veraison/ear', 'ear.verifier-id': { developer: 'https://postern.dev', build: VERIFIER_BUILD } });
    });

    it('the appraisal is in submods.device, with ear.status, ear.trustworthiness-vector and ear.appraisal-policy-id, and no top-level status', async () => {
      const claims = decodeJwt(await sign());
      expect(claims.submods).toEqual({ device: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { 'instance-identity': 2, configuration: 2 }, 'ear.appraisal-policy-id': 'employees@3' } });
      expect(Object.keys(claims).filter((name) => name.includes('status'))).toEqual([]);
    });

    it.each<[Verdict, string, number]>([
      ['compliant', 'affirming', 2],
      ['grace', 'warning', 32],
      ['noncompliant', 'contraindicated', 96],
      ['revoked', 'contraindicated', 96],
      ['unknown', 'none', 0],
      ['pending', 'none', 0],
    ])('maps the verdict %s to ear.status %s, with AR4SI configuration %i', async (verdict, status, configuration) => {
      const device = (decodeJwt(await sign({ verdict })).submods as Record<string, Record<string, unknown>>).device;
      expect(device).toMatchObject({ 'ear.status': status, 'ear.trustworthiness-vector': { 'instance-identity': 2, configuration } });
    });
  });

  describe('verify', () => {
    it.each<Verdict>(['compliant', 'grace', 'noncompliant', 'revoked', 'unknown', 'pending'])('accepts a result this server signed for a %s device, answering its claims', async (verdict) => {
      await expect(verifyEar(keys, ISSUER, await sign({ verdict }), NOW)).resolves.toMatchObject({ iss: ISSUER, sub: deviceId, exp: NOW + LIFETIME_S, cnf: { jkt: deviceKidValue }, postern: { verdict } });
    });

    it('accepts a result signed by a key retired from signing but still published', async () => {
      const rotated = await serverKeys(keys);
      await expect(verifyEar(rotated, ISSUER, await sign(), NOW)).resolves.toMatchObject({ sub: deviceId });
    });

    it('accepts a result up to five seconds past its exp, and refuses it from then on, remembered or not', async () => {
      const token = await sign();
      const exp = NOW + LIFETIME_S;
      await expect(verifyEar(keys, ISSUER, token, exp + 4)).resolves.toMatchObject({ exp });
      await expectRefused(token, /not valid: "exp" claim timestamp check failed/, { now: exp + 5 });
      await expectRefused(sign(), /"exp" claim timestamp check failed/, { now: exp + 3600 });
    });

    it('refuses a result for another issuer, also after it verified for its own', async () => {
      const token = await sign();
      await expect(verifyEar(keys, ISSUER, token, NOW)).resolves.toBeDefined();
      await expectRefused(token, /not valid: unexpected "iss" claim value/, { issuer: 'https://other.example.com' });
    });

    it('refuses alg "none"', async () => {
      const [, payload] = (await sign()).split('.');
      await expectRefused(`${b64({ alg: 'none', typ: 'JWT', kid: keys.active.kid })}.${payload}.`, /not valid: .*"alg" \(Algorithm\) Header Parameter value not allowed/);
    });

    it('refuses HS256 keyed with the server public key as JWK JSON', async () => {
      const [, payload] = (await sign()).split('.');
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: keys.active.kid })}.${payload}`;
      const key = JSON.stringify(keys.jwks.keys[0]);
      await expectRefused(`${input}.${createHmac('sha256', key).update(input).digest('base64url')}`, /"alg" \(Algorithm\) Header Parameter value not allowed/);
    });

    it('refuses a result signed by a key not in the server set, under its own kid or under the server kid', async () => {
      await expectRefused(signEar(stranger, ISSUER, input()), /not valid: no applicable key found in the JSON Web Key Set/);
      const impostor = await new SignJWT(decodeJwt(await sign())).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: keys.active.kid }).sign(stranger.active.privateKey);
      await expectRefused(impostor, /not valid: signature verification failed/);
    });

    it('refuses a payload changed after signing', async () => {
      const [header, , signature] = (await sign({ verdict: 'noncompliant', score: 0 })).split('.');
      const forged = { ...decodeJwt(await sign({ verdict: 'noncompliant', score: 0 })), postern: { verdict: 'compliant', score: 100, failing: [], group: 'employees' } };
      await expectRefused(`${header}.${b64(forged)}.${signature}`, /signature verification failed/);
    });

    it('refuses a server-signed token whose claims are not an attestation result', async () => {
      const { cnf: _cnf, ...claims } = decodeJwt(await sign());
      await expectRefused(signedByServer(claims), /^the posture token does not carry Postern attestation-result claims$/);
    });

    it.each([
      ['another type', { typ: 'dpop+jwt' }],
      ['none', { typ: undefined }],
    ])('refuses a server-signed result whose typ is %s', async (_, header) => {
      await expectRefused(signedByServer(decodeJwt(await sign()), header), /typ/);
    });
  });
});

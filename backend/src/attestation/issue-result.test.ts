import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { deviceKid, type CheckResult } from '@postern/shared';
import { signEar, verifyEar, type EarInput } from '../decisions/ear.js';
import type { ServerKeys } from '../keys/signing-keys.js';
import { issueResult } from './issue-result.js';

const ISSUER = 'https://postern.example.com';
const NOW = Math.floor(Date.now() / 1000);

const failing = (id: string): CheckResult => ({ id, status: 'fail', severity: 'high', weight: 10, message: `${id} fails`, remediation: `fix ${id}`, failing_since: NOW - 60, exception: null });

describe('the result token of an accepted report', () => {
  let keys: ServerKeys;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(publicKey);
    const kid = await deviceKid(publicJwk);
    keys = { active: { kid, privateKey }, jwks: { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] } };
  });

  it.each<[string, Partial<EarInput>]>([
    ['compliant, with a nonce', { verdict: 'compliant', score: 100, checks: [], nonce: 'n'.repeat(43) }],
    ['noncompliant, without a nonce', { verdict: 'noncompliant', score: 40, checks: [failing('disk_encryption'), failing('firewall')] }],
    ['in grace', { verdict: 'grace', score: 80, checks: [failing('patches')] }],
  ])('is the token signEar writes, claim for claim and byte for byte but its jti: %s', async (_, varied) => {
    const input: EarInput = { deviceId: randomUUID(), kid: 'dJ8s0kWq3w1Yc2m1tQm0i9a8kYx3f5Lr6p7n2b4v1cE', group: 'employees', verdict: 'compliant', score: 100, checks: [], policyRef: 'employees@3', now: NOW, lifetimeS: 600, ...varied };
    const [ours, theirs] = await Promise.all([issueResult(keys, ISSUER, input), signEar(keys, ISSUER, input)]);
    expect(decodeProtectedHeader(ours)).toEqual(decodeProtectedHeader(theirs));
    expect(ours.split('.')[0]).toBe(theirs.split('.')[0]);
    const withoutJti = (token: string) => Buffer.from(token.split('.')[1] as string, 'base64url').toString().replace(/"jti":"[0-9a-f-]{36}"/, '"jti":""');
    expect(withoutJti(ours)).toBe(withoutJti(theirs));
    expect(decodeJwt(ours).jti).not.toBe(decodeJwt(theirs).jti);
    // What a gateway does with it: jose verifies it against the published keys, claims by schema.
    expect(await verifyEar(keys, ISSUER, ours, NOW)).toEqual(await verifyEar(keys, ISSUER, theirs, NOW));
  });
});

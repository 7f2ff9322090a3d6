import { randomUUID } from 'node:crypto';
import { EAR_PROFILE, EAR_TYP, earStatusOf, type EarClaims, type EarStatus } from '@postern/shared';
import { VERIFIER_BUILD, type EarInput } from '../decisions/ear.js';
import { signCompactJws } from '../keys/compact-jws.js';
import type { ServerKeys } from '../keys/signing-keys.js';
import { failingIds } from '../policy/evaluate.js';

// AR4SI trustworthiness claims, from the EAR status, as decisions/ear.ts maps them.
const TRUSTWORTHINESS: Record<EarStatus, number> = { affirming: 2, warning: 32, contraindicated: 96, none: 0 };

/**
 * The attestation result (EAR) of one accepted report: the claims and header `signEar` writes,
 * in the same order, signed with node:crypto instead of jose (keys/compact-jws.ts says why), so
 * every verifier of `signEar`'s tokens verifies these (issue-result.test.ts holds them equal).
 */
export function issueResult(keys: ServerKeys, issuer: string, input: EarInput): Promise<string> {
  const status = earStatusOf(input.verdict);
  const claims: EarClaims & { jti: string } = {
    eat_profile: EAR_PROFILE,
    'ear.verifier-id': { developer: 'https://postern.dev', build: VERIFIER_BUILD },
    ...(input.nonce ? { eat_nonce: input.nonce } : {}),
    cnf: { jkt: input.kid },
    submods: {
      device: {
        'ear.status': status,
        'ear.trustworthiness-vector': { 'instance-identity': 2, configuration: TRUSTWORTHINESS[status] },
        'ear.appraisal-policy-id': input.policyRef,
      },
    },
    postern: { verdict: input.verdict, score: input.score, failing: failingIds(input.checks, input.now), group: input.group },
    iss: issuer,
    sub: input.deviceId,
    iat: input.now,
    exp: input.now + input.lifetimeS,
    jti: randomUUID(),
  };
  return signCompactJws(keys.active.privateKey, { alg: 'ES256', typ: EAR_TYP, kid: keys.active.kid }, claims);
}

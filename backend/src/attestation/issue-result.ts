import { EAR_TYP } from '@postern/shared';
import { earClaimsFor, type EarInput } from '../decisions/ear.js';
import { signCompactJws } from '../keys/compact-jws.js';
import type { ServerKeys } from '../keys/signing-keys.js';

/**
 * The attestation result (EAR) of one accepted report: the claims of `earClaimsFor`, signed with
 * node:crypto instead of jose (keys/compact-jws.ts says why). issue-result.test.ts holds the
 * token equal to the one jose signs, so every verifier of those verifies these.
 */
export function issueResult(keys: ServerKeys, issuer: string, input: EarInput): Promise<string> {
  return signCompactJws(keys.active.privateKey, { alg: 'ES256', typ: EAR_TYP, kid: keys.active.kid }, earClaimsFor(issuer, input));
}

import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { EAR_PROFILE, EAR_TYP, earClaims, earStatusOf, type CheckResult, type EarClaims, type EarStatus, type Verdict } from '@postern/shared';
import { failingIds } from '../policy/evaluate.js';
import type { ServerKeys } from '../keys/signing-keys.js';

// AR4SI trustworthiness claims, from the EAR status: one mapping for both.
const TRUSTWORTHINESS: Record<EarStatus, number> = { affirming: 2, warning: 32, contraindicated: 96, none: 0 };

export const VERIFIER_BUILD = 'postern-backend/0.1.0';

export interface EarInput {
  deviceId: string;
  kid: string;
  group: string;
  verdict: Verdict;
  score: number;
  checks: readonly CheckResult[];
  policyRef: string;
  nonce?: string;
  now: number;
  lifetimeS: number;
}

/**
 * The claims of an attestation result (EAR, draft-ietf-rats-ear, as Veraison's `ear` names its
 * claims) the device can carry to a gateway (passport model). `cnf.jkt` binds it to the device
 * key, so it is useless without a DPoP proof. One mapping, whichever library signs it.
 */
export function earClaimsFor(issuer: string, input: EarInput): EarClaims & { jti: string } {
  const status = earStatusOf(input.verdict);
  return {
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
}

/** The EAR signed with jose: what the server's own node:crypto signing (attestation/issue-result.ts) is tested against. */
export async function signEar(keys: ServerKeys, issuer: string, input: EarInput): Promise<string> {
  return new SignJWT(earClaimsFor(issuer, input)).setProtectedHeader({ alg: 'ES256', typ: EAR_TYP, kid: keys.active.kid }).sign(keys.active.privateKey);
}

export class EarInvalid extends Error {
  readonly code = 'invalid_token';
}

const CLOCK_TOLERANCE_S = 5;
const VERIFIED_CAPACITY = 20_000;

interface Verifier {
  jwks: ReturnType<typeof createLocalJWKSet>;
  /** Tokens that verified, by their exact text, least recently used first out. */
  verified: Map<string, EarClaims>;
}
const verifiers = new WeakMap<ServerKeys, Verifier>();

/**
 * Verifies an EAR this backend issued: our keys only, ES256 only, not expired, claims by schema.
 * A gateway presents the same token with every request, so a token that verified is remembered
 * until it expires: the same bytes give the same signature check, and only the clock is checked
 * again. Profiled, importing the JWKS and the signature check were a fifth of forward-auth.
 */
export async function verifyEar(keys: ServerKeys, issuer: string, token: string, now: number): Promise<EarClaims> {
  let verifier = verifiers.get(keys);
  if (!verifier) verifiers.set(keys, (verifier = { jwks: createLocalJWKSet(keys.jwks), verified: new Map() }));
  const known = verifier.verified.get(token);
  if (known && known.iss === issuer && now < known.exp + CLOCK_TOLERANCE_S) {
    verifier.verified.delete(token);
    verifier.verified.set(token, known);
    return known;
  }
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, verifier.jwks, { algorithms: ['ES256'], typ: EAR_TYP, issuer, currentDate: new Date(now * 1000), clockTolerance: CLOCK_TOLERANCE_S }));
  } catch (error) {
    verifier.verified.delete(token);
    throw new EarInvalid(`the posture token is not valid: ${(error as Error).message}`);
  }
  const parsed = earClaims.safeParse(payload);
  if (!parsed.success) throw new EarInvalid('the posture token does not carry Postern attestation-result claims');
  verifier.verified.set(token, parsed.data);
  if (verifier.verified.size > VERIFIED_CAPACITY) verifier.verified.delete(verifier.verified.keys().next().value as string);
  return parsed.data;
}

import { randomBytes } from 'node:crypto';
import { DEVICE_ALG, ENROLL_TYP, enrollClaims, type EnrollClaims } from '@postern/shared';
import { EnrollmentError } from '../errors.js';
import { signCompact } from '../jws/sign-compact.js';
import type { DeviceKey } from '../keystore/key-store.js';
import type { DeviceFacts } from './device-facts.js';

/** EAT UEID of type RAND (0x01) followed by 16 random bytes, base64url (RFC 9711 §4.2.1). */
export function newUeid(): string {
  return Buffer.concat([Buffer.from([0x01]), randomBytes(16)]).toString('base64url');
}

export interface EnrollRequestInput {
  key: DeviceKey;
  enrollmentToken: string;
  ueid: string;
  facts: DeviceFacts;
  agentVersion: string;
  now?: () => number;
}

/**
 * The enrollment request JWS: the public key rides in the header (`jwk`) and the
 * signature proves the device holds its private half, as in ACME (RFC 8555 §6.2).
 */
export async function buildEnrollRequest(input: EnrollRequestInput): Promise<string> {
  const now = input.now ?? Date.now;
  const claims: EnrollClaims = {
    enrollment_token: input.enrollmentToken,
    iat: Math.floor(now() / 1000),
    ueid: input.ueid,
    machine_id: input.facts.machine_id,
    hostname: input.facts.hostname,
    platform: input.facts.platform,
    ...(input.facts.serial ? { serial: input.facts.serial } : {}),
    agent_version: input.agentVersion,
  };
  const checked = enrollClaims.safeParse(claims);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    // Do not echo the value: it may be the enrollment token.
    if (issue?.path[0] === 'enrollment_token') {
      throw new EnrollmentError('malformed_token', 'the enrollment token does not look like one (16 to 256 characters): copy it again from your administrator');
    }
    throw new EnrollmentError('malformed_request', `cannot build the enrollment request: "${issue?.path.join('.')}" ${issue?.message}`);
  }
  return signCompact(input.key, { alg: DEVICE_ALG, typ: ENROLL_TYP, jwk: input.key.publicJwk }, checked.data);
}

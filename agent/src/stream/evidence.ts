import { DEVICE_ALG, EVIDENCE_PROFILE, EVIDENCE_TYP, evidenceClaims, SWNAME, type EvidenceClaims, type Posture } from '@postern/shared';
import { AgentError } from '../errors.js';
import { signCompact } from '../jws/sign-compact.js';
import type { DeviceKey } from '../keystore/key-store.js';
import { AGENT_VERSION } from '../version.js';

export interface EvidenceInput {
  key: DeviceKey;
  device_id: string;
  ueid: string;
  /** The last nonce the server sent on this connection (or by `GET /v1/nonce`). */
  nonce: string;
  seq: number;
  posture: Posture;
  now?: () => number;
  agentVersion?: string;
}

/**
 * The claims of one attestation (RFC 9711 names), checked against the shared schema
 * so a collector bug is reported here, naming the field, instead of as a `schema`
 * error from the server.
 */
export function buildEvidenceClaims(input: EvidenceInput): EvidenceClaims {
  const claims: EvidenceClaims = {
    eat_profile: EVIDENCE_PROFILE,
    iat: Math.floor((input.now ?? Date.now)() / 1000),
    eat_nonce: input.nonce,
    ueid: input.ueid,
    swname: SWNAME,
    swversion: [input.agentVersion ?? AGENT_VERSION],
    device_id: input.device_id,
    seq: input.seq,
    posture: input.posture,
  };
  const checked = evidenceClaims.safeParse(claims);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new AgentError('invalid_evidence', `the attestation would not match the protocol ("${issue?.path.join('.')}": ${issue?.message}); this is a bug in the agent's collectors`);
  }
  return checked.data;
}

/** The attestation token: a compact JWS `{"alg":"ES256","typ":"eat+jwt","kid":<thumbprint>}` over the claims. */
export async function signEvidence(input: EvidenceInput): Promise<string> {
  const claims = buildEvidenceClaims(input);
  return signCompact(input.key, { alg: DEVICE_ALG, typ: EVIDENCE_TYP, kid: input.key.kid }, claims);
}

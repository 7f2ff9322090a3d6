import { z } from 'zod';
import { implausibleTimes, report } from './consistency.js';
import { EAR_PROFILE, EVIDENCE_PROFILE, SWNAME } from './constants.js';
import { nonce, numericDate, text, ueid, uuid } from './encoding.js';
import { platform, posture } from './posture.js';
import { earStatus, verdict } from './verdict.js';

/** Claims of the enrollment request JWS (header carries `jwk`, typ postern-enroll+jwt). */
export const enrollClaims = z.object({
  enrollment_token: z.string().min(16).max(256),
  iat: numericDate,
  ueid,
  /** SHA-256 hex of the node-machine-id value, never the raw value. */
  machine_id: z.string().regex(/^[0-9a-f]{64}$/, 'expected SHA-256 hex'),
  hostname: text(255, 1),
  platform,
  serial: text(128).optional(),
  agent_version: text(64),
});
export type EnrollClaims = z.infer<typeof enrollClaims>;

/** Claims of an attestation (EAT, RFC 9711 names). */
export const evidenceClaims = z.object({
  eat_profile: z.literal(EVIDENCE_PROFILE),
  iat: numericDate,
  eat_nonce: nonce,
  ueid,
  swname: z.literal(SWNAME),
  swversion: z.tuple([text(64)]),
  device_id: uuid,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  posture,
}).superRefine((c, ctx) => report(ctx, implausibleTimes(c.posture, c.iat), ['posture']));
export type EvidenceClaims = z.infer<typeof evidenceClaims>;

/**
 * Claims of the attestation result the backend signs: EAR (draft-ietf-rats-ear) with the names its
 * reference implementation, Veraison's `ear`, spells (`ear.verifier-id`, and per submodule
 * `ear.status`, `ear.trustworthiness-vector`, `ear.appraisal-policy-id`); no top-level status.
 */
export const earClaims = z.object({
  eat_profile: z.literal(EAR_PROFILE),
  iss: z.string(),
  iat: numericDate,
  exp: numericDate,
  sub: uuid,
  'ear.verifier-id': z.object({ developer: z.string(), build: z.string() }),
  eat_nonce: nonce.optional(),
  cnf: z.object({ jkt: z.string() }),
  submods: z.object({
    device: z.object({
      'ear.status': earStatus,
      'ear.trustworthiness-vector': z.record(z.string(), z.number().int()),
      'ear.appraisal-policy-id': z.string(),
    }),
  }),
  postern: z.object({
    verdict,
    score: z.number().int().min(0).max(100),
    failing: z.array(z.string()),
    group: z.string(),
  }),
});
export type EarClaims = z.infer<typeof earClaims>;

import { z } from 'zod';
import { compactJws, nonce, numericDate, uuid } from './encoding.js';
import { resultFrame } from './frames.js';
import { checkResult, verdict } from './verdict.js';

/** `POST /v1/enroll` */
export const enrollRequest = z.object({ request: compactJws });
export const enrollResponse = z.object({
  device_id: uuid,
  status: z.enum(['active', 'pending_approval']),
  expires_at: numericDate.nullable(),
  report_interval_s: z.number().int().positive(),
  /** This machine's still-enrolled device: the new one waits for an administrator's `device relink`. */
  relink_of: uuid.nullable().optional(),
});
export type EnrollRequest = z.infer<typeof enrollRequest>;
export type EnrollResponse = z.infer<typeof enrollResponse>;

/** `GET /v1/nonce` */
export const nonceResponse = z.object({ nonce, server_time: numericDate });
/** `POST /v1/attestations` */
export const attestationRequest = z.object({ token: compactJws });
/** The result frame's fields, without `type`. */
export const attestationResponse = resultFrame.omit({ type: true });

/** `GET /v1/devices/{id}/compliance` */
export const complianceResponse = z.object({
  device_id: uuid,
  verdict,
  score: z.number().int().min(0).max(100),
  checks: z.array(checkResult),
  policy: z.string().nullable(),
  evaluated_at: numericDate.nullable(),
  expires_at: numericDate.nullable(),
});
export type ComplianceResponse = z.infer<typeof complianceResponse>;

import { z } from 'zod';

/** Error codes carried in the agent stream's `error` frames (and the HTTP fallback's problem bodies). */
export const streamErrorCode = z.enum([
  'bad_signature',
  'unknown_key',
  'stale_nonce',
  'replayed_seq',
  'clock_skew',
  'schema',
  'revoked',
  'rate_limited',
  'database_unavailable',
]);
export type StreamErrorCode = z.infer<typeof streamErrorCode>;

/**
 * Every error code an HTTP endpoint answers, with its one HTTP status. A code means the same on
 * every endpoint: `rate_limited` is always "too much, try again after Retry-After", whether the
 * client or the server's capacity is the cause. Clients decide by `code`, never by status.
 */
export const ERROR_STATUS = {
  // the request itself
  malformed: 400,
  schema: 400,
  invalid_policy: 400,
  group_required: 400,
  unknown_check: 400,
  clock_skew: 400,
  bad_signature: 400,
  unknown_key: 400,
  stale_nonce: 400,
  replayed_seq: 409,
  too_large: 413,
  unsupported_media_type: 415,
  // who is asking
  unauthorized: 401,
  invalid_token: 401,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
  forbidden: 403,
  revoked: 403,
  not_compliant: 403,
  csrf_failed: 403,
  insufficient_role: 403,
  // what it names
  not_found: 404,
  unknown_device: 404,
  unknown_exception: 404,
  unknown_policy_version: 404,
  unknown_group: 404,
  unknown_admin: 404,
  already_enrolled: 409,
  not_pending: 409,
  conflict: 409,
  method_not_allowed: 405,
  not_implemented: 501,
  // load and failure
  rate_limited: 429,
  database_unavailable: 503,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<string, number>;

export const errorCode = z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...Array<keyof typeof ERROR_STATUS>]);
export type ErrorCode = z.infer<typeof errorCode>;

/** The fixed `title` of each code's problem details (RFC 9457 §3.1.3: the same for every occurrence). */
export const ERROR_TITLE: Record<ErrorCode, string> = {
  malformed: 'Malformed request',
  schema: 'Claims do not match the schema',
  invalid_policy: 'Invalid policy',
  group_required: 'Group required',
  unknown_check: 'Unknown check',
  clock_skew: 'Clock skew',
  bad_signature: 'Bad signature',
  unknown_key: 'Unknown key',
  stale_nonce: 'Stale nonce',
  replayed_seq: 'Replayed sequence number',
  too_large: 'Body too large',
  unsupported_media_type: 'Unsupported media type',
  unauthorized: 'Unauthorized',
  invalid_token: 'Invalid token',
  invalid_dpop_proof: 'Invalid DPoP proof',
  use_dpop_nonce: 'DPoP nonce required',
  forbidden: 'Forbidden',
  revoked: 'Device revoked',
  not_compliant: 'Device not compliant',
  csrf_failed: 'CSRF token missing or wrong',
  insufficient_role: 'Role too low',
  not_found: 'Not found',
  unknown_device: 'Unknown device',
  unknown_exception: 'Unknown exception',
  unknown_policy_version: 'Unknown policy version',
  unknown_group: 'Unknown group',
  unknown_admin: 'Unknown admin',
  already_enrolled: 'Already enrolled',
  not_pending: 'Not awaiting approval',
  conflict: 'Conflict',
  method_not_allowed: 'Method not allowed',
  not_implemented: 'Not implemented',
  rate_limited: 'Rate limited',
  database_unavailable: 'Database unavailable',
  unavailable: 'Service unavailable',
  internal: 'Internal server error',
};

/** The `type` URI of a code's problem details: a stable name, documented in docs/protocol.md. */
export function problemType(code: ErrorCode): string {
  return `urn:postern:problem:${code}`;
}

/**
 * Body of every HTTP error response: RFC 9457 problem details (`application/problem+json`) with
 * Postern's stable `code`. `detail` is the sentence for a person: what was wrong and what to do.
 * Other members (for example `problems` of an invalid policy) may follow.
 */
export const problemDetails = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
  })
  .passthrough();
export type ProblemDetails = z.infer<typeof problemDetails>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The error body before problem details (`{"error":{"code","message"}}`); removed once no reader is left. */
export const httpError = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

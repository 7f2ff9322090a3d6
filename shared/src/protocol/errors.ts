import { z } from 'zod';

/** Error codes carried in `error` frames and HTTP error bodies. */
export const streamErrorCode = z.enum([
  'bad_signature',
  'unknown_key',
  'stale_nonce',
  'replayed_seq',
  'clock_skew',
  'schema',
  'revoked',
  'rate_limited',
]);
export type StreamErrorCode = z.infer<typeof streamErrorCode>;

/** Body of every HTTP error response: a stable code and a sentence for a person. */
export const httpError = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type HttpError = z.infer<typeof httpError>;

import { checkResult, compactJws, numericDate, ueid, uuid, verdict } from '@postern/shared';
import { z } from 'zod';

/**
 * `device.json`: who this device is to the server. Written at enrollment, then
 * updated when `seq` advances (before each report is sent) or the server changes
 * the reporting interval.
 */
export const deviceState = z.object({
  version: z.literal(1),
  device_id: uuid,
  /** Base URL of the backend, without a trailing slash (`https://postern.example.com`). */
  server: z.url({ protocol: /^https?$/ }),
  ueid,
  /** RFC 7638 thumbprint of the device key; must match device-key.jwk. */
  kid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  status: z.enum(['active', 'pending_approval', 'revoked']),
  /** Group the enrollment token placed the device in; learnt from the first attestation result. */
  group: z.string().nullable(),
  /** When the device's access ends (contractors), integer seconds, or null. */
  expires_at: numericDate.nullable(),
  report_interval_s: z.number().int().positive(),
  enrolled_at: numericDate,
  /** The private CA's PEM file given at enrollment (`--ca`), absolute; absent when the system's CAs suffice. */
  ca_file: z.string().min(1).optional(),
  /** The device of this machine the server still knew at enrollment: this one waits for an administrator's `device relink`. */
  relink_of: uuid.optional(),
  /** When the device key became this device's key (enrollment or the last rotation); absent in older state: `enrolled_at`. */
  key_created_at: numericDate.optional(),
  /** The oldest the server lets a device key get (its config frame); null: no limit. */
  key_max_age_s: z.number().int().positive().nullable().optional(),
  /** The last `seq` put in an attestation; the next one is at least this plus one. */
  last_seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type DeviceState = z.infer<typeof deviceState>;

/** `last-result.json`: the last verdict the server gave, with its EAR token. */
export const lastResult = z.object({
  version: z.literal(1),
  seq: z.number().int().nonnegative(),
  verdict,
  score: z.number().int().min(0).max(100),
  checks: z.array(checkResult),
  /** EAR JWT bound to the device key (`cnf.jkt`): useless without a DPoP proof from that key. */
  token: compactJws,
  received_at: numericDate,
});
export type LastResult = z.infer<typeof lastResult>;

import { z } from 'zod';
import { DELIVERY } from './event-types.js';
import { subjectId } from './subjects.js';

/** The bodies and answers of the SSF 1.0 stream management API (§8.1), as zod schemas: the routes validate with them, the OpenAPI document is made from them. */
const streamId = z.string().uuid().meta({ description: 'the stream id the transmitter gave at creation' });
const audience = z.union([z.string().min(1).max(500), z.array(z.string().min(1).max(500)).min(1).max(10)]);
const eventType = z.string().url().max(500);
const method = z.enum([DELIVERY.push, DELIVERY.poll]);

export const deliveryInput = z.object({
  method,
  endpoint_url: z.string().max(2000).optional().describe('push: where SETs are POSTed; poll: given by the transmitter, leave it out'),
  authorization_header: z.string().min(1).max(4096).optional().describe('push: sent as the Authorization header of every POST; never shown again'),
});

const receiverSupplied = {
  events_requested: z.array(eventType).max(50).optional().describe('absent: every supported event type'),
  delivery: deliveryInput.optional().describe('absent: poll'),
  description: z.string().max(500).nullable().optional(),
  aud: audience.optional().describe('the SETs\' audience; absent: the receiver key\'s name'),
  min_verification_interval: z.number().int().min(0).max(86400).nullable().optional(),
};
/** Read-only members a receiver may send back (a PUT of what GET answered); ignored. */
const transmitterSupplied = {
  iss: z.string().optional(),
  events_supported: z.array(z.string()).optional(),
  events_delivered: z.array(z.string()).optional(),
};

export const streamCreate = z.object({ ...receiverSupplied, ...transmitterSupplied });
export const streamUpdate = z.object({ stream_id: streamId, ...receiverSupplied, ...transmitterSupplied });
export type StreamInput = z.infer<typeof streamCreate>;

export const streamQuery = z.object({ stream_id: streamId.optional() });
export const streamIdQuery = z.object({ stream_id: streamId });

export const streamConfig = z
  .object({
    stream_id: streamId,
    iss: z.string(),
    aud: audience,
    events_supported: z.array(z.string()),
    events_requested: z.array(z.string()),
    events_delivered: z.array(z.string()),
    delivery: z.object({ method, endpoint_url: z.string().optional() }),
    min_verification_interval: z.number().int().optional(),
    description: z.string().optional(),
  })
  .meta({ id: 'SsfStreamConfiguration' });
export type StreamConfig = z.infer<typeof streamConfig>;

export const streamStatusValue = z.enum(['enabled', 'paused', 'disabled']);
export type StreamStatusValue = z.infer<typeof streamStatusValue>;

export const statusUpdate = z.object({ stream_id: streamId, status: streamStatusValue, reason: z.string().min(1).max(500).optional() });

export const streamStatus = z.object({
  stream_id: streamId,
  status: streamStatusValue,
  reason: z.string().optional(),
  delivery: z
    .object({
      pending: z.number().int().describe('SETs waiting for the receiver'),
      failing_since: z.number().int().nullable().describe('push: since when a SET has failed POSTERN_SSF_MAX_ATTEMPTS times; null when delivering'),
      last_error: z.string().nullable().describe('push: why the last failed attempt failed'),
    })
    .describe('Postern extension: delivery health'),
});

export const subjectChange = z.object({ stream_id: streamId, subject: subjectId, verified: z.boolean().optional() });
export const subjectAdded = z.object({ stream_id: streamId, subject: z.record(z.string(), z.unknown()), verified: z.boolean() });
export const verificationRequest = z.object({ stream_id: streamId, state: z.string().max(500).optional() });

/** RFC 8936 §2.4: the poll request and answer. */
export const pollRequest = z.object({
  maxEvents: z.number().int().min(0).max(1000).optional(),
  returnImmediately: z.boolean().optional(),
  ack: z.array(z.string().max(200)).max(1000).optional(),
  setErrs: z.record(z.string().max(200), z.object({ err: z.string().max(100), description: z.string().max(1000) })).optional(),
});
export const pollResponse = z.object({ sets: z.record(z.string(), z.string()), moreAvailable: z.boolean() });

export const ssfConfiguration = z.object({
  spec_version: z.string(),
  issuer: z.string(),
  jwks_uri: z.string(),
  delivery_methods_supported: z.array(z.string()),
  configuration_endpoint: z.string(),
  status_endpoint: z.string(),
  add_subject_endpoint: z.string(),
  remove_subject_endpoint: z.string(),
  verification_endpoint: z.string(),
  critical_subject_members: z.array(z.string()),
  authorization_schemes: z.array(z.object({ spec_urn: z.string() })),
  default_subjects: z.enum(['ALL', 'NONE']),
});

export const ssfJwks = z.object({ keys: z.array(z.object({ kty: z.literal('RSA'), n: z.string(), e: z.string(), kid: z.string(), alg: z.literal('RS256'), use: z.literal('sig') })) });

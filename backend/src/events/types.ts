import { uuid, verdict } from '@postern/shared';
import { z } from 'zod';

/**
 * The events of the durable event stream, one schema per type: what docs/events.md documents and
 * what every consumer parses. Each is written in the transaction of the change it records, with
 * the audit entry of the same kind and content (journal/record.ts).
 */
const seconds = z.number().int();
const group = z.string();

/** What made a verdict change. */
export const verdictCause = z.enum(['report', 'policy', 'time', 'exception', 'group', 'admin']);
export type VerdictCause = z.infer<typeof verdictCause>;

export const eventData = {
  'device.enrolled': z.object({
    hostname: z.string(),
    platform: z.string(),
    group,
    owner: z.string().nullable(),
    status: z.enum(['active', 'pending_approval']),
    expires_at: seconds.nullable(),
    enrollment_token_id: uuid,
    change_ref: z.string().nullable().optional(),
    /** Set when this machine's device was still enrolled: the new one waits for `device relink`. */
    relink_of: uuid.nullable().optional(),
  }),
  // `note`: the admin's words, when they gave some (the dashboard asks for them).
  'device.approved': z.object({ from: z.literal('pending_approval'), to: z.literal('active'), note: z.string().optional() }),
  // Null only in events written before a reason was required.
  'device.denied': z.object({ reason: z.string().nullable() }),
  'device.revoked': z.object({
    reason: z.enum(['admin', 'expired', 'pending_expired', 'relinked', 'unenrolled']),
    from: z.string().optional(),
    /** With `admin`: the admin's words, when they gave some. */
    note: z.string().optional(),
    /** With `relinked`: the device that took this one's place. */
    replaced_by: uuid.optional(),
  }),
  'device.extended': z.object({ from: seconds.nullable(), to: seconds, note: z.string().optional() }),
  'device.owner_changed': z.object({ from: z.string().nullable(), to: z.string() }),
  'device.change_ref_changed': z.object({ from: z.string().nullable(), to: z.string() }),
  'device.relinked': z.object({ replaces: uuid }),
  'device.key_rotation_started': z.object({ kid: z.string(), pending_kid: z.string() }),
  'device.key_rotated': z.object({ from_kid: z.string(), to_kid: z.string() }),
  'device.verdict_changed': z.object({
    from: verdict.nullable(),
    to: verdict,
    score: z.number().int().min(0).max(100),
    failing: z.array(z.string()),
    cause: verdictCause,
    policy: z.string(),
    reason: z.string().optional(),
  }),
  'device.group_changed': z.object({ from: group, to: group, note: z.string().optional() }),
  'policy.applied': z.object({
    group,
    version: z.number().int().positive(),
    policy: z.string(),
    previous: z.string().nullable(),
    author: z.string(),
    message: z.string(),
    source_sha256: z.string(),
    rolled_back_from: z.number().int().positive().optional(),
  }),
  'exception.granted': z.object({ exception_id: uuid, check: z.string(), until: seconds, reason: z.string() }),
  'exception.ended': z.object({ exception_id: uuid, check: z.string(), until: seconds, reason: z.enum(['expired', 'revoked']) }),
  // A gateway API key was revoked: replicas forget it at once (decisions/gateway-memory.ts).
  'gateway_key.revoked': z.object({ gateway_key_id: uuid, name: z.string() }),
} as const;

export type EventType = keyof typeof eventData;
export const eventTypes = Object.keys(eventData) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof eventData)[T]>;

/** An event as consumers see it and the admin API answers it: the envelope with its type's data. */
export const streamEvent = z.discriminatedUnion(
  'type',
  (Object.keys(eventData) as EventType[]).map((type) =>
    z.object({ seq: z.number().int().positive(), at: seconds, type: z.literal(type), actor: z.string(), device_id: uuid.nullable(), data: eventData[type] }),
  ) as unknown as [EventEnvelope<'device.enrolled'>, ...Array<EventEnvelope<EventType>>],
);
type EventEnvelope<T extends EventType> = z.ZodObject<{
  seq: z.ZodNumber;
  at: z.ZodNumber;
  type: z.ZodLiteral<T>;
  actor: z.ZodString;
  device_id: z.ZodNullable<typeof uuid>;
  data: (typeof eventData)[T];
}>;
export type StreamEvent = {
  [T in EventType]: { seq: number; at: number; type: T; actor: string; device_id: string | null; data: EventData<T> };
}[EventType];

/** An event about to be appended: its seq and time are given by the append. */
export type NewEvent = {
  [T in EventType]: { type: T; actor: string; deviceId: string | null; data: EventData<T> };
}[EventType];

export function isEventType(kind: string): kind is EventType {
  return Object.hasOwn(eventData, kind);
}

/** A stored row as a typed event, or null if the row does not match its type's schema (never trusted blindly). */
export function parseEvent(row: { seq: number; at: Date; type: string; actor: string; device_id: string | null; data: unknown }): StreamEvent | null {
  if (!isEventType(row.type)) return null;
  const data = eventData[row.type].safeParse(row.data);
  if (!data.success) return null;
  return { seq: Number(row.seq), at: Math.floor(row.at.getTime() / 1000), type: row.type, actor: row.actor, device_id: row.device_id, data: data.data } as StreamEvent;
}

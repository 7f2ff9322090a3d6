import { z } from 'zod';

/**
 * Subject identifiers (RFC 9493) a receiver may add to or remove from a stream: a device by its
 * id (`opaque`), its owner (`email`), or both in a `complex` subject. Other formats are refused
 * as ones this transmitter never sends events about.
 */
const opaque = z.object({ format: z.literal('opaque'), id: z.string().min(1).max(200) });
const email = z.object({ format: z.literal('email'), email: z.string().min(3).max(320) });
const complex = z
  .object({ format: z.literal('complex'), device: opaque.optional(), user: email.optional() })
  .refine((s) => s.device !== undefined || s.user !== undefined, { message: 'a complex subject names a device or a user' });
export const subjectId = z.discriminatedUnion('format', [opaque, email, complex]);
export type SubjectId = z.infer<typeof subjectId>;

/** Whom an event is about. */
export interface EventSubject {
  deviceId: string;
  /** The device owner, when it is an email address. */
  email: string | null;
}

/** A simple check: the SSF subject format `email` wants an address, and owners may be plain names. */
export function isEmail(owner: string | null): owner is string {
  return owner !== null && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(owner);
}

/** The SET `sub_id` for a device: complex, with its owner when that is an email address (CAEP's device and user). */
export function subIdFor(subject: EventSubject): SubjectId {
  return { format: 'complex', device: { format: 'opaque', id: subject.deviceId }, ...(subject.email ? { user: { format: 'email', email: subject.email } } : {}) };
}

/** A stable key for storing a subject: its members in one order, emails compared without case. */
export function subjectKey(subject: SubjectId): string {
  switch (subject.format) {
    case 'opaque':
      return `opaque:${subject.id}`;
    case 'email':
      return `email:${subject.email.toLowerCase()}`;
    case 'complex':
      return `complex:${subject.device?.id ?? ''}:${subject.user?.email.toLowerCase() ?? ''}`;
  }
}

/** Whether a stored subject names the event's device: every member it gives must match. */
export function subjectMatches(subject: SubjectId, event: EventSubject): boolean {
  const emailMatches = (e: string) => event.email !== null && e.toLowerCase() === event.email.toLowerCase();
  switch (subject.format) {
    case 'opaque':
      return subject.id === event.deviceId;
    case 'email':
      return emailMatches(subject.email);
    case 'complex':
      return (subject.device === undefined || subject.device.id === event.deviceId) && (subject.user === undefined || emailMatches(subject.user.email));
  }
}

export interface StreamSubjects {
  added: SubjectId[];
  removed: SubjectId[];
}

/**
 * A stream delivers events about every device (SSF `default_subjects: ALL`) until the receiver adds
 * a subject; from then on only about added subjects. A removed subject is never delivered.
 */
export function streamWants(subjects: StreamSubjects, event: EventSubject): boolean {
  if (subjects.removed.some((s) => subjectMatches(s, event))) return false;
  return subjects.added.length === 0 || subjects.added.some((s) => subjectMatches(s, event));
}

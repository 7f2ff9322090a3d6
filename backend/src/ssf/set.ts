import { randomUUID } from 'node:crypto';
import { isAllowed, type Verdict } from '@postern/shared';
import { SignJWT } from 'jose';
import type { StreamEvent, VerdictCause } from '../events/types.js';
import { EVENT } from './event-types.js';
import type { SsfKeys } from './signing-key.js';
import { SET_ALG } from './signing-key.js';
import { subIdFor, type EventSubject, type SubjectId } from './subjects.js';

/** One security event about to be signed for a stream: its type, its body and whom it is about. */
export interface SecurityEvent {
  type: string;
  subject: SubjectId;
  body: Record<string, unknown>;
  /** `txn`: the same for every stream, so a receiver with several can tell them apart from repeats. */
  txn: string;
  /** The event stream's seq it comes from, if any. */
  seq: number | null;
}

type InitiatingEntity = 'admin' | 'user' | 'policy' | 'system';

/** Who made a verdict change, in CAEP's words: a policy apply, an administrator's act, or the system itself (a report, time). */
const INITIATOR: Record<VerdictCause, InitiatingEntity> = { policy: 'policy', admin: 'admin', exception: 'admin', group: 'admin', report: 'system', time: 'system' };

const caepStatus = (verdict: Verdict | null) => (verdict !== null && isAllowed(verdict) ? 'compliant' : 'not-compliant');

/**
 * The CAEP events a stream event makes (CAEP 1.0 §3.3, §3.5): a verdict change is a
 * device-compliance-change naming the failing checks, a revocation also a session-revoked.
 * A device without a previous verdict counts as not compliant before.
 */
export function caepEventsFor(event: StreamEvent, owner: EventSubject): SecurityEvent[] {
  const base = { subject: subIdFor(owner), txn: `postern:event:${event.seq}`, seq: event.seq };
  if (event.type === 'device.verdict_changed') {
    const { data } = event;
    const current = caepStatus(data.to);
    const why = data.failing.length > 0 ? `failing checks: ${data.failing.join(', ')}` : 'every check passes';
    return [
      {
        ...base,
        type: EVENT.deviceComplianceChange,
        body: {
          current_status: current,
          previous_status: caepStatus(data.from),
          event_timestamp: event.at,
          initiating_entity: INITIATOR[data.cause],
          reason_admin: { en: `verdict ${data.from ?? 'none'} → ${data.to} (${why}; policy ${data.policy}; cause ${data.cause}${data.reason ? `: ${data.reason}` : ''})` },
        },
      },
    ];
  }
  if (event.type === 'device.revoked') {
    const byAdmin = event.data.reason === 'admin';
    return [
      {
        ...base,
        type: EVENT.sessionRevoked,
        body: {
          event_timestamp: event.at,
          initiating_entity: byAdmin ? 'admin' : 'system',
          reason_admin: { en: byAdmin ? `device revoked by ${event.actor}` : 'device enrollment expired' },
        },
      },
    ];
  }
  return [];
}

/** The SSF verification event (SSF 1.0 §8.1.4.1): about the stream itself, echoing the receiver's `state`. */
export function verificationEvent(streamId: string, state: string | undefined): SecurityEvent {
  return { type: EVENT.verification, subject: { format: 'opaque', id: streamId }, body: state === undefined ? {} : { state }, txn: `postern:verification:${randomUUID()}`, seq: null };
}

export interface SignedSet {
  jti: string;
  jwt: string;
}

/**
 * Signs a SET (RFC 8417, SSF 1.0 §4): `typ: secevent+jwt` with the key's `kid`; iss, aud, jti, iat,
 * txn, sub_id and one event. No `sub` (the subject is `sub_id`) and no `exp` (RFC 8417 §2.2).
 */
export async function signSet(keys: SsfKeys, input: { issuer: string; audience: readonly string[]; event: SecurityEvent; now: number }): Promise<SignedSet> {
  const jti = randomUUID();
  const { event } = input;
  const jwt = await new SignJWT({ txn: event.txn, sub_id: event.subject, events: { [event.type]: event.body } })
    .setProtectedHeader({ alg: SET_ALG, typ: 'secevent+jwt', kid: keys.kid })
    .setIssuer(input.issuer)
    .setAudience(input.audience.length === 1 ? (input.audience[0] as string) : [...input.audience])
    .setJti(jti)
    .setIssuedAt(input.now)
    .sign(keys.privateKey);
  return { jti, jwt };
}

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export type AuditKind =
  | 'enrollment_token.created'
  | 'gateway_key.created'
  | 'device.enrolled'
  | 'device.approved'
  | 'device.revoked'
  | 'device.verdict_changed';

export interface AuditEntry {
  actor: string;
  kind: AuditKind;
  deviceId?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends one entry to the audit log; callers pass their transaction so the entry commits with the change. */
export async function appendAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ actor: entry.actor, kind: entry.kind, device_id: entry.deviceId ?? null, detail: JSON.stringify(entry.detail ?? {}) })
    .execute();
}

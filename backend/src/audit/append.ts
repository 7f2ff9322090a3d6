import { sql, type Kysely } from 'kysely';
import type { AuditRow, Database } from '../store/schema.js';
import type { EventType } from '../events/types.js';
import { JOURNAL_LOCK } from '../store/advisory-locks.js';
import { entryHash, GENESIS_HASH } from '../store/audit-chain.js';

/** Audit kinds: every event type (journal/record.ts writes both), and the changes that are audited only. */
export type AuditKind = EventType | 'enrollment_token.created' | 'enrollment_token.revoked' | 'group_settings.changed' | 'gateway_key.created' | AccountAuditKind;
/** Changes to admin accounts and their credentials (accounts/, admin/admin-token.ts). */
type AccountAuditKind = 'admin.created' | 'admin.updated' | 'admin.role_changed' | 'admin.disabled' | 'admin.enabled' | 'admin_token.created' | 'admin_sign_in_link.created';

export interface AuditEntry {
  actor: string;
  kind: AuditKind;
  deviceId?: string | null;
  detail?: Record<string, unknown>;
}


/**
 * Appends entries, in order, to the hash-chained audit log. Callers pass their transaction so
 * the entries commit with the change they record (a bare database handle gets a transaction of
 * its own).
 *
 * Appends are serialized with `pg_advisory_xact_lock`, held to the end of the transaction, so
 * concurrent replicas cannot fork the chain (a unique index on `prev_hash` backs this up).
 * Take it last: append after every other write of the transaction, or two transactions
 * locking rows in opposite orders could deadlock.
 */
export async function appendAudits(db: Kysely<Database>, entries: readonly AuditEntry[]): Promise<AuditRow[]> {
  if (entries.length === 0) return [];
  if (!db.isTransaction) return db.transaction().execute((trx) => appendAudits(trx, entries));
  await sql`select pg_advisory_xact_lock(${JOURNAL_LOCK})`.execute(db);
  const last = await db.selectFrom('audit_log').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst();
  // Ids are part of the hashed content, so take them before inserting; nextval is ascending.
  const { rows } = await sql<{ id: number | string }>`select nextval(pg_get_serial_sequence('audit_log', 'id')) as id from generate_series(1, ${entries.length}::int)`.execute(db);
  const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  const at = new Date();
  let prevHash = last?.hash ?? GENESIS_HASH;
  const chained = entries.map((entry, i) => {
    const row = { id: ids[i] as number, at, actor: entry.actor, kind: entry.kind, device_id: entry.deviceId ?? null, detail: entry.detail ?? {}, prev_hash: prevHash };
    const hash = entryHash(row);
    prevHash = hash;
    return { ...row, detail: JSON.stringify(row.detail), hash };
  });
  return db
    .insertInto('audit_log')
    .values(chained as never)
    .returningAll()
    .execute()
    .then((inserted) => inserted.sort((a, b) => a.id - b.id));
}

/** Appends one entry: see appendAudits. */
export async function appendAudit(db: Kysely<Database>, entry: AuditEntry): Promise<AuditRow> {
  const [row] = await appendAudits(db, [entry]);
  if (!row) throw new Error('the audit entry was not written');
  return row;
}

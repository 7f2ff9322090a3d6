import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { entryHash, GENESIS_HASH } from '../store/audit-chain.js';

export type ChainReport =
  | { ok: true; entries: number; head: { id: number; hash: string } | null }
  | { ok: false; entries_checked: number; entry_id: number; problem: 'altered' | 'removed' | 'relinked'; message: string };

/**
 * Recomputes the audit chain from the first entry and names the first entry that was altered or
 * removed. Reads in pages, so the log never has to fit in memory. Removing entries at the very
 * end leaves a valid shorter chain: keep `head` somewhere else to detect that.
 */
export async function verifyAuditChain(db: Kysely<Database>, pageSize = 1000): Promise<ChainReport> {
  let prev: { id: number; hash: string } | null = null;
  let count = 0;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().orderBy('id').limit(pageSize);
    if (prev) query = query.where('id', '>', prev.id);
    const rows = await query.execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const expectedPrev = prev?.hash ?? GENESIS_HASH;
      if (row.prev_hash !== expectedPrev) {
        if (prev === null) return { ok: false, entries_checked: count, entry_id: row.id, problem: 'removed', message: `entries before entry ${row.id} were removed: it is the first entry but does not start the chain` };
        const gap = row.id !== prev.id + 1;
        return gap
          ? { ok: false, entries_checked: count, entry_id: prev.id + 1, problem: 'removed', message: `the entry before entry ${row.id} is missing: entry ${prev.id + 1}${row.id - 1 > prev.id + 1 ? ` to ${row.id - 1}` : ''} was removed, or entry ${prev.id} was altered and its hash rewritten` }
          : { ok: false, entries_checked: count, entry_id: prev.id, problem: 'relinked', message: `entry ${prev.id} was altered and its hash rewritten: entry ${row.id} recorded a different hash for it` };
      }
      const recomputed = entryHash({ id: row.id, at: row.at, actor: row.actor, kind: row.kind, device_id: row.device_id, detail: row.detail, prev_hash: row.prev_hash });
      if (recomputed !== row.hash) return { ok: false, entries_checked: count, entry_id: row.id, problem: 'altered', message: `entry ${row.id} (${row.kind}) was altered: its content no longer matches its hash` };
      prev = { id: row.id, hash: row.hash };
      count++;
    }
  }
  return { ok: true, entries: count, head: prev };
}

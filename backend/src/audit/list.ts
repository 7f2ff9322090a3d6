import type { Kysely } from 'kysely';
import { toSeconds } from '../store/rows.js';
import type { Database } from '../store/schema.js';

export interface AuditFilter {
  deviceId?: string;
  actor?: string;
  /** A kind (`policy.applied`), or a prefix ending in a dot (`device.`). */
  kind?: string;
  since?: number;
  until?: number;
  limit?: number;
}

export interface AuditView {
  id: number;
  at: number;
  actor: string;
  kind: string;
  device_id: string | null;
  detail: Record<string, unknown>;
  hash: string;
}

/** The newest entries matching every filter given, returned oldest first. */
export async function listAudit(db: Kysely<Database>, filter: AuditFilter): Promise<AuditView[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (filter.deviceId) query = query.where('device_id', '=', filter.deviceId);
  if (filter.actor) query = query.where('actor', '=', filter.actor);
  if (filter.kind) query = filter.kind.endsWith('.') ? query.where('kind', 'like', `${filter.kind.replace(/[%_\\]/g, '\\$&')}%`) : query.where('kind', '=', filter.kind);
  if (filter.since !== undefined) query = query.where('at', '>=', new Date(filter.since * 1000));
  if (filter.until !== undefined) query = query.where('at', '<=', new Date(filter.until * 1000));
  const rows = await query.orderBy('id', 'desc').limit(Math.min(Math.max(filter.limit ?? 100, 1), 10_000)).execute();
  return rows.reverse().map((r) => ({ id: r.id, at: toSeconds(r.at) ?? 0, actor: r.actor, kind: r.kind, device_id: r.device_id, detail: r.detail, hash: r.hash }));
}

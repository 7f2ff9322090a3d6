import type { Kysely } from 'kysely';
import { DEFAULT_SLOT } from '../policy/default-policy.js';
import type { Database } from '../store/schema.js';

export const PAGE_SIZE = 500;

/** Which devices a slot's policy judges: its group, or for `default` every group without its own. */
export type DeviceSelection = { slot: string; ownGroups: readonly string[] } | { deviceIds: readonly string[] };

/** Ids of the selected devices, in pages ordered by id, so a fleet of 100k never sits in memory at once. */
export async function* selectedDeviceIds(db: Kysely<Database>, selection: DeviceSelection, pageSize = PAGE_SIZE): AsyncGenerator<string[]> {
  if ('deviceIds' in selection) {
    const ids = [...new Set(selection.deviceIds)].sort();
    for (let i = 0; i < ids.length; i += pageSize) yield ids.slice(i, i + pageSize);
    return;
  }
  let after: string | null = null;
  for (;;) {
    let query = db.selectFrom('devices').select('id').orderBy('id').limit(pageSize);
    if (selection.slot === DEFAULT_SLOT) {
      if (selection.ownGroups.length > 0) query = query.where('group_name', 'not in', selection.ownGroups);
    } else {
      query = query.where('group_name', '=', selection.slot);
    }
    if (after !== null) query = query.where('id', '>', after);
    const rows = await query.execute();
    if (rows.length > 0) yield rows.map((r) => r.id);
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]?.id ?? null;
  }
}

import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import { HttpError } from '../http/http-error.js';
import type { Database } from '../store/schema.js';
import { FLEET_DEVICE_COLUMNS, fleetDeviceOf, type FleetDeviceRow } from './device-row.js';
import type { DeviceSearchFilters, DeviceSort, FleetDevice } from './schemas.js';

/**
 * The fleet's device search: filters, a sort, and keyset pagination (a page costs the same at
 * device 100,000 as at device 1). The cursor is the last row's sort key and id, opaque to clients.
 */
/**
 * `indexed`: an index keeps the devices in this order, so a page walks it and stops. The other
 * keys change with every report (an index on them would cost every report its in-place update),
 * so their pages rank the matching devices first (see `rankedIds`).
 */
const SORT_KEY: Record<DeviceSort, { expression: Expression<unknown>; kind: 'text' | 'number'; order: 'asc' | 'desc'; indexed: boolean }> = {
  // The same expression as the devices_hostname_search index (migration 0008).
  hostname: { expression: sql`lower(d.hostname) collate "C"`, kind: 'text', order: 'asc', indexed: true },
  last_seen: { expression: sql`extract(epoch from coalesce(d.last_seen_at, 'epoch'::timestamptz))::float8`, kind: 'number', order: 'desc', indexed: false },
  score: { expression: sql`s.score::float8`, kind: 'number', order: 'desc', indexed: false },
  verdict_since: { expression: sql`extract(epoch from s.verdict_since)::float8`, kind: 'number', order: 'desc', indexed: false },
  enrolled: { expression: sql`extract(epoch from d.enrolled_at)::float8`, kind: 'number', order: 'desc', indexed: false },
};

interface Cursor {
  key: string | number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id])).toString('base64url');
}

function decodeCursor(value: string, kind: 'text' | 'number'): Cursor {
  const bad = () => new HttpError('malformed', 'the cursor is not one this server gave: pass `next` of the previous page unchanged, with the same sort');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [key, id] = parsed as [unknown, unknown];
  if (typeof key !== (kind === 'text' ? 'string' : 'number') || typeof id !== 'string' || !UUID.test(id)) throw bad();
  return { key: key as string | number, id };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `q` as the smallest and largest UUID it is a prefix of, or null when it cannot begin one. */
export function uuidPrefixRange(q: string): [string, string] | null {
  const digits = q.toLowerCase().replaceAll('-', '');
  if (!/^[0-9a-f]{1,32}$/.test(digits)) return null;
  const pad = (fill: string) => {
    const all = digits.padEnd(32, fill);
    return `${all.slice(0, 8)}-${all.slice(8, 12)}-${all.slice(12, 16)}-${all.slice(16, 20)}-${all.slice(20)}`;
  };
  const low = pad('0');
  // Dashes only where a UUID has them.
  return low.startsWith(q.toLowerCase()) ? [low, pad('f')] : null;
}

const likePrefix = (q: string) => `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The matching devices with their standing, as one query the search, the count and the CSV export share. */
export function matchingDevices(db: Kysely<Database>, filters: DeviceSearchFilters, now: number): Joined {
  return narrowed(joinedDevices(db), filters, now);
}

/**
 * The count of the matching devices: the same query without the page's columns. Standing and
 * posture are left-joined on their primary keys, so PostgreSQL drops them when no filter reads
 * them, and counting 100,000 devices scans one narrow table. (Every device has a standing from
 * enrollment on, so the left join finds the same devices an inner join would.)
 */
async function countMatching(db: Kysely<Database>, filters: DeviceSearchFilters, now: number): Promise<number> {
  const row = await matchingDevices(db, filters, now)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

type Joined = ReturnType<typeof joinedDevices>;
const joinedDevices = (db: Kysely<Database>) =>
  db.selectFrom('devices as d').leftJoin('device_standing as s', 's.device_id', 'd.id').leftJoin('device_posture as p', 'p.device_id', 'd.id');

function narrowed(query: Joined, filters: DeviceSearchFilters, now: number): Joined {
  const q = filters.q?.toLowerCase();
  if (q) {
    const range = uuidPrefixRange(q);
    const pattern = likePrefix(q);
    // The matches are looked up first, once (an InitPlan: one bitmap scan over the prefix indexes),
    // then fetched by id: otherwise the planner walks the whole hostname index in sort order,
    // testing each row against the OR, to fill one page.
    query = query.where(
      sql<SqlBool>`d.id = any(array(select x.id from devices x where lower(x.hostname) collate "C" like ${pattern} or lower(x.owner) collate "C" like ${pattern} or lower(x.change_ref) collate "C" like ${pattern}${
        range ? sql` or x.id between ${range[0]}::uuid and ${range[1]}::uuid` : sql``
      }))`,
    );
  }
  if (filters.verdict?.length) query = query.where('s.verdict', 'in', filters.verdict);
  if (filters.status?.length) query = query.where('d.status', 'in', filters.status);
  if (filters.group) query = query.where('d.group_name', '=', filters.group);
  if (filters.platform) query = query.where('d.platform', '=', filters.platform);
  if (filters.os_version) query = query.where('p.os_version', '=', filters.os_version);
  if (filters.failing) query = query.where(sql<SqlBool>`s.failing ? ${filters.failing}`);
  if (filters.not_reporting_s) {
    const before = new Date((now - filters.not_reporting_s) * 1000);
    query = query.where('d.status', '=', 'active').where((eb) => eb.or([eb('d.last_seen_at', '<', before), eb.and([eb('d.last_seen_at', 'is', null), eb('d.enrolled_at', '<', before)])]));
  }
  return query;
}

export interface DevicePage {
  devices: FleetDevice[];
  total: number | null;
  next: string | null;
}

/** One page of the search; `withTotal` false spares the count (the CSV export pages through without it). */
export async function searchDevices(
  db: Kysely<Database>,
  filters: DeviceSearchFilters & { cursor?: string | undefined; limit: number },
  now: number,
  options: { withTotal: boolean } = { withTotal: true },
): Promise<DevicePage> {
  const sort = SORT_KEY[filters.sort];
  const order = filters.order ?? sort.order;
  const cursor = filters.cursor ? decodeCursor(filters.cursor, sort.kind) : null;
  const key = cursor ? (sort.kind === 'text' ? sql`${cursor.key}::text collate "C"` : sql`${cursor.key}::float8`) : null;
  const comparison = sql.raw(order === 'asc' ? '>' : '<');
  let matching = matchingDevices(db, filters, now);
  if (cursor) matching = matching.where(sql<SqlBool>`(${sort.expression}, d.id) ${comparison} (${key}, ${cursor.id}::uuid)`);
  const page = async (): Promise<Array<FleetDeviceRow & { sort_key: string | number }>> => {
    const columns = [...FLEET_DEVICE_COLUMNS, sql<string | number>`${sort.expression}`.as('sort_key')] as const;
    if (sort.indexed) {
      return matching.select(columns).orderBy(sql`${sort.expression}`, order).orderBy('d.id', order).limit(filters.limit + 1).execute();
    }
    const ranked = await rankedIds(db, matching, sort.expression, order, filters.limit + 1);
    if (ranked.length === 0) return [];
    const byId = new Map((await joinedDevices(db).select(FLEET_DEVICE_COLUMNS).where('d.id', 'in', ranked.map((r) => r.id)).execute()).map((row) => [row.id, row]));
    // The sort key is the one the page was ranked by: a report between the two reads may change
    // it, and a cursor from the second read would repeat or skip devices on the next page.
    return ranked.flatMap(({ id, k }) => {
      const row = byId.get(id);
      return row ? [{ ...row, sort_key: k }] : [];
    });
  };
  // The total is counted for the first page only: the client keeps it while it pages on.
  const [rows, total] = await Promise.all([page(), options.withTotal && !cursor ? countMatching(db, filters, now) : Promise.resolve(null)]);
  const more = rows.length > filters.limit;
  const shown = more ? rows.slice(0, filters.limit) : rows;
  const last = shown[shown.length - 1];
  return {
    devices: shown.map(fleetDeviceOf),
    total,
    next: more && last ? encodeCursor({ key: sort.kind === 'number' ? Number(last.sort_key) : String(last.sort_key), id: last.id }) : null,
  };
}

/**
 * The ids of one page in a sort no index keeps: the matching devices with their sort key are
 * gathered first (a materialised CTE, a hash join of narrow rows), then the page's top is kept
 * with a bounded heap. Left to itself, the planner sorts every device by the key (spilling to
 * disk at 100,000) and walks the sorted stream testing each against the filters.
 */
async function rankedIds(db: Kysely<Database>, matching: Joined, expression: Expression<unknown>, order: 'asc' | 'desc', limit: number): Promise<Array<{ id: string; k: number }>> {
  const rows = await db
    .with(
      (cte) => cte('m').materialized(),
      () => matching.select(['d.id as id', sql<number>`${expression}`.as('k')]),
    )
    .selectFrom('m')
    .select(['m.id', 'm.k'])
    .orderBy('m.k', order)
    .orderBy('m.id', order)
    .limit(limit)
    .execute();
  return rows.map((row) => ({ id: row.id, k: Number(row.k) }));
}

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { searchDevices } from './search-devices.js';
import type { DeviceSearchFilters, FleetDevice } from './schemas.js';

const PAGE = 1000;
const COLUMNS = ['device_id', 'hostname', 'owner', 'platform', 'os_version', 'group', 'status', 'verdict', 'score', 'failing', 'last_seen_at', 'verdict_since', 'enrolled_at', 'expires_at'] as const;
const TIMES = new Set<string>(['last_seen_at', 'verdict_since', 'enrolled_at', 'expires_at']);

/**
 * One CSV field (RFC 4180): quoted when it holds a separator, a quote or a line break. Text a
 * spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe
 * (OWASP's CSV-injection advice): hostnames and owners come from devices and tokens, not from us.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvRow(device: FleetDevice): string {
  return COLUMNS.map((column) => {
    const value = device[column];
    if (value === null) return '';
    if (TIMES.has(column) && typeof value === 'number') return new Date(value * 1000).toISOString();
    return csvField(Array.isArray(value) ? value.join(' ') : String(value));
  }).join(',');
}

/** The filtered fleet as CSV lines, read page by page so memory stays flat at any fleet size. */
export async function* fleetCsv(db: Kysely<Database>, filters: DeviceSearchFilters, now: number): AsyncGenerator<string> {
  yield `${COLUMNS.join(',')}\r\n`;
  let cursor: string | undefined;
  do {
    const page = await searchDevices(db, { ...filters, limit: PAGE, cursor }, now, { withTotal: false });
    if (page.devices.length > 0) yield `${page.devices.map(csvRow).join('\r\n')}\r\n`;
    cursor = page.next ?? undefined;
  } while (cursor);
}

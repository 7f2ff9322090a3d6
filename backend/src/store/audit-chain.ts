import { createHash } from 'node:crypto';

/** `prev_hash` of the first entry of the chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit entry that its hash covers. */
export interface ChainedContent {
  id: number;
  at: Date;
  actor: string;
  kind: string;
  device_id: string | null;
  detail: unknown;
  prev_hash: string;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every depth, no whitespace, arrays
 * in order, numbers and strings as JSON.stringify writes them. `undefined` members are dropped.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The hash of one audit entry: SHA-256 (lower-case hex) of the canonical JSON of
 * `{actor, at, detail, device_id, id, kind, prev_hash}`, with `at` as ISO 8601 UTC with
 * milliseconds (`2026-05-01T18:00:00.123Z`). `prev_hash` is the previous entry's hash, so
 * altering, inserting or removing any entry breaks every link after it.
 */
export function entryHash(entry: ChainedContent): string {
  const content = {
    actor: entry.actor,
    at: entry.at.toISOString(),
    detail: entry.detail,
    device_id: entry.device_id,
    id: entry.id,
    kind: entry.kind,
    prev_hash: entry.prev_hash,
  };
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}

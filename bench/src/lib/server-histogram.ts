/**
 * The server's own latency over a window, from one of its histograms on /metrics read before
 * and after: `postern_http_request_duration_seconds` for a route (from when the server began
 * the request to when it had written the answer) or `postern_ingest_seconds` (from a report's
 * arrival to its result). Beside the client's figure it tells the server's share of a latency
 * tail from the client's and the machine's (a request waiting for a core before the server
 * reads it counts only at the client).
 */
export type RouteBuckets = Map<number, number>;

/** Cumulative counts by upper bound (seconds, +Inf included) of a route's series of the request histogram, all methods and statuses summed. */
export function readRouteBuckets(serverUrl: string, route: string): Promise<RouteBuckets> {
  return readBuckets(serverUrl, 'postern_http_request_duration_seconds', { route });
}

/** Cumulative counts by upper bound of every series of `metric` whose labels include `match`, summed. */
export async function readBuckets(serverUrl: string, metric: string, match: Record<string, string> = {}): Promise<RouteBuckets> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const buckets: RouteBuckets = new Map();
  const line = new RegExp(`^${metric}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, labels, value] of text.matchAll(line) as Iterable<[string, string, string]>) {
    const fields = new Map([...labels.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k as string, v as string]));
    if (Object.entries(match).some(([k, v]) => fields.get(k) !== v)) continue;
    const le = fields.get('le') === '+Inf' ? Infinity : Number(fields.get('le'));
    buckets.set(le, (buckets.get(le) ?? 0) + Number(value));
  }
  return buckets;
}

/**
 * The smallest bucket bound, in ms, under which at least `q` of the window's requests were
 * answered (Infinity past the last bound); null when the window saw none.
 */
export function quantileBoundMs(before: RouteBuckets, after: RouteBuckets, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  }
  return Infinity;
}

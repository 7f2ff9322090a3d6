/**
 * The server's own latency for one route over a window, from its
 * `postern_http_request_duration_seconds` histogram on /metrics read before and after: from
 * when the server began the request to when it had written the answer. Beside the client's
 * figure it tells the server's share of a latency tail from the client's and the machine's
 * (a request waiting for a core before the server reads it counts only at the client).
 */
export type RouteBuckets = Map<number, number>;

const BUCKET_LINE = /^postern_http_request_duration_seconds_bucket\{([^}]*)\} (\S+)$/gm;

/** Cumulative counts by upper bound (seconds, +Inf included) of every series of `route`, all methods and statuses summed. */
export async function readRouteBuckets(serverUrl: string, route: string): Promise<RouteBuckets> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const buckets: RouteBuckets = new Map();
  for (const [, labels, value] of text.matchAll(BUCKET_LINE) as Iterable<[string, string, string]>) {
    const fields = new Map([...labels.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k as string, v as string]));
    if (fields.get('route') !== route) continue;
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

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantileBoundMs, readBuckets, readRouteBuckets } from './server-histogram.js';

// What prom-client writes for the server's histogram: two statuses of the route asked about, another route.
const exposition = (fast: number, slow: number) => `# HELP postern_http_request_duration_seconds Time to answer an HTTP request
# TYPE postern_http_request_duration_seconds histogram
postern_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/v1/authz",status="200"} ${fast}
postern_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/authz",status="200"} ${fast + slow}
postern_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/authz",status="200"} ${fast + slow}
postern_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/v1/authz",status="403"} 0
postern_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/authz",status="403"} 1
postern_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/authz",status="403"} 2
postern_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/healthz",status="200"} 500
postern_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/healthz",status="200"} 500
postern_http_request_duration_seconds_count{method="GET",route="/v1/authz",status="200"} ${fast + slow}
`;

let body = exposition(0, 0);
const server = createServer((_req, res) => res.end(body));
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('the server histogram of one route', () => {
  it('sums the route\'s statuses by bound and leaves other routes out', async () => {
    body = exposition(90, 10);
    expect([...(await readRouteBuckets(url, '/v1/authz')).entries()]).toEqual([
      [0.001, 90],
      [0.005, 101],
      [Infinity, 102],
    ]);
  });

  it('finds the bound under which a share of the window\'s requests were answered', async () => {
    body = exposition(90, 10);
    const before = await readRouteBuckets(url, '/v1/authz');
    body = exposition(90 + 980, 10 + 20);
    const after = await readRouteBuckets(url, '/v1/authz');
    // The window: 980 under 1 ms, 20 more under 5 ms, none slower.
    expect(quantileBoundMs(before, after, 0.98)).toBe(1);
    expect(quantileBoundMs(before, after, 0.99)).toBe(5);
    expect(quantileBoundMs(before, before, 0.99)).toBeNull();
  });

  it('is past the last bound when too many were slower than every bound', () => {
    const before = new Map([[0.005, 0], [Infinity, 0]]);
    const after = new Map([[0.005, 90], [Infinity, 100]]);
    expect(quantileBoundMs(before, after, 0.99)).toBe(Infinity);
  });
});

describe('a histogram without labels', () => {
  it('reads postern_ingest_seconds, whose only label is le', async () => {
    body = `postern_ingest_seconds_bucket{le="0.025"} 7\npostern_ingest_seconds_bucket{le="0.05"} 9\npostern_ingest_seconds_bucket{le="+Inf"} 10\npostern_ingest_seconds_sum 0.3\n${exposition(1, 1)}`;
    expect([...(await readBuckets(url, 'postern_ingest_seconds')).entries()]).toEqual([
      [0.025, 7],
      [0.05, 9],
      [Infinity, 10],
    ]);
  });
});

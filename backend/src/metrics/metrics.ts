import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance, so tests can run several servers in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'postern_' });
  return {
    registry,
    attestationsAccepted: new Counter({ name: 'postern_attestations_accepted_total', help: 'Attestations verified, evaluated and stored', registers: [registry] }),
    attestationsRejected: new Counter({ name: 'postern_attestations_rejected_total', help: 'Attestations refused, by protocol error code', labelNames: ['code'], registers: [registry] }),
    framesRejected: new Counter({ name: 'postern_stream_closed_total', help: 'Agent streams closed by the server, by close code', labelNames: ['close_code'], registers: [registry] }),
    enrollments: new Counter({ name: 'postern_enrollments_total', help: 'Enrollment requests by outcome', labelNames: ['outcome'], registers: [registry] }),
    authz: new Counter({ name: 'postern_authz_decisions_total', help: 'Forward-auth answers by outcome', labelNames: ['outcome'], registers: [registry] }),
    connections: new Gauge({ name: 'postern_agent_connections', help: 'Open agent WebSocket connections', registers: [registry] }),
    batchSize: new Histogram({ name: 'postern_batch_size', help: 'Requests served by one batched database round trip, by batch', labelNames: ['batch'], buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [registry] }),
    // Labelled by the router's path template, never the raw URL, so ids in paths do not make series.
    httpRequestSeconds: new Histogram({
      name: 'postern_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    ingestSeconds: new Histogram({ name: 'postern_ingest_seconds', help: 'Time to verify, evaluate and store one attestation', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

import { Counter, Gauge } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Metrics } from '../metrics/metrics.js';
import type { Database } from '../store/schema.js';

export type SsfMetrics = ReturnType<typeof ssfMetrics>;

const DELIVERIES = 'postern_ssf_deliveries_total';
const OUTBOX = 'postern_ssf_outbox_sets';

/**
 * `postern_ssf_deliveries_total{method,result}` and `postern_ssf_outbox_sets{status}` (SETs
 * waiting, cluster-wide). Registered once per registry, however many apps are built on it.
 */
export function ssfMetrics(metrics: Metrics, db: Kysely<Database>) {
  const { registry } = metrics;
  if (!registry.getSingleMetric(OUTBOX)) {
    new Gauge({
      name: OUTBOX,
      help: 'Signed SETs waiting in the SSF outbox for their receiver, by stream status',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const rows = await db.selectFrom('ssf_outbox').innerJoin('ssf_streams', 'ssf_streams.id', 'ssf_outbox.stream_id').select(['ssf_streams.status', (eb) => eb.fn.countAll().as('n')]).groupBy('ssf_streams.status').execute();
        this.reset();
        for (const status of ['enabled', 'paused']) this.set({ status }, 0);
        for (const row of rows) this.set({ status: row.status }, Number(row.n));
      },
    });
  }
  const deliveries =
    (registry.getSingleMetric(DELIVERIES) as Counter<'method' | 'result'> | undefined) ??
    new Counter({ name: DELIVERIES, help: 'SET deliveries by method (push, poll) and result (push: delivered, rejected, failed; poll: acknowledged, errored)', labelNames: ['method', 'result'], registers: [registry] });
  return { deliveries };
}

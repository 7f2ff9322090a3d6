import { Counter, Gauge } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Metrics } from '../metrics/metrics.js';
import type { Database } from '../store/schema.js';

export type SsfMetrics = ReturnType<typeof ssfMetrics>;

/** `postern_ssf_deliveries_total{method,result}` and `postern_ssf_outbox_sets{status}` (SETs waiting, cluster-wide). */
export function ssfMetrics(metrics: Metrics, db: Kysely<Database>) {
  const { registry } = metrics;
  new Gauge({
    name: 'postern_ssf_outbox_sets',
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
  return {
    deliveries: new Counter({ name: 'postern_ssf_deliveries_total', help: 'SET deliveries by method (push, poll) and result (delivered, rejected, failed; poll: acknowledged, errored)', labelNames: ['method', 'result'], registers: [registry] }),
  };
}

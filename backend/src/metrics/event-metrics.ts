import { Counter, Gauge } from 'prom-client';
import type { Kysely } from 'kysely';
import type { EventConsumer, ConsumerSpec } from '../events/consumer.js';
import type { Database } from '../store/schema.js';
import type { Metrics } from './metrics.js';
import { streamHead } from '../events/read.js';

/** The fleet count is a scan of every device: at most one per this many milliseconds, however often Prometheus scrapes. */
const FLEET_CACHE_MS = 10_000;

/**
 * Metrics that follow the event stream: devices by verdict, group and platform (from the
 * materialised standings), events by type as this replica consumed them, and each of this
 * replica's consumers' lag behind the head of the stream.
 */
export function eventMetrics(metrics: Metrics, db: Kysely<Database>, consumers: () => readonly EventConsumer[]): ConsumerSpec {
  const { registry } = metrics;
  const events = new Counter({ name: 'postern_events_total', help: 'Events of the cluster event stream consumed by this replica, by type', labelNames: ['type'], registers: [registry] });
  new Gauge({
    name: 'postern_event_consumer_lag_events',
    help: 'Events committed to the stream that this consumer has not handled yet',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      const head = await streamHead(db);
      for (const consumer of consumers()) this.set({ consumer: consumer.name }, Math.max(0, head - consumer.position));
    },
  });
  let fleet: { at: number; rows: Array<{ verdict: string; group_name: string; platform: string; n: number | string | bigint }> } | null = null;
  new Gauge({
    name: 'postern_devices',
    help: 'Enrolled devices by current verdict, group and platform',
    labelNames: ['verdict', 'group', 'platform'],
    registers: [registry],
    async collect() {
      if (!fleet || Date.now() - fleet.at > FLEET_CACHE_MS) {
        const rows = await db
          .selectFrom('devices')
          .innerJoin('device_standing', 'device_standing.device_id', 'devices.id')
          .select(['device_standing.verdict', 'devices.group_name', 'devices.platform', (eb) => eb.fn.countAll().as('n')])
          .groupBy(['device_standing.verdict', 'devices.group_name', 'devices.platform'])
          .execute();
        fleet = { at: Date.now(), rows };
      }
      this.reset();
      for (const row of fleet.rows) this.set({ verdict: row.verdict, group: row.group_name, platform: row.platform }, Number(row.n));
    },
  });
  return {
    name: 'metrics',
    durable: false,
    handle(batch) {
      for (const event of batch) events.inc({ type: event.type });
    },
  };
}

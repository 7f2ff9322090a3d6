import type { Kysely } from 'kysely';
import type { Backend } from '../context.js';
import type { Database } from '../store/schema.js';
import { EventConsumer } from '../events/consumer.js';
import { ssfMetrics, type SsfMetrics } from './metrics.js';
import { enqueueOutbox } from './outbox-batch.js';
import { ssfOutboxConsumer } from './outbox-consumer.js';
import { OutboxSignal } from './poll.js';
import { PushDelivery } from './push-delivery.js';
import type { SsfSettings } from './settings.js';
import { loadSsfKeys, type SsfKeys } from './signing-key.js';

/**
 * The Shared Signals transmitter of one replica: its RS256 key, the durable consumer that turns
 * events into signed SETs in each stream's outbox, and the push delivery loop. Routes (routes.ts)
 * share it for the key, the settings and the long-poll wake-ups.
 */
export class SsfTransmitter {
  readonly signal = new OutboxSignal();
  readonly metrics: SsfMetrics;
  private keysLoading: Promise<SsfKeys> | null = null;
  private consumer: EventConsumer | null = null;
  private delivery: PushDelivery | null = null;
  private closed = false;
  private pruner: NodeJS.Timeout | null = null;

  constructor(
    readonly backend: Backend,
    readonly settings: SsfSettings,
  ) {
    this.metrics = ssfMetrics(backend.metrics, backend.db);
  }

  /**
   * The signing key, made on first need (the first stream, the JWKS) rather than at start: RSA key
   * generation is slow, and a server nobody subscribes to never needs it. `db` is the caller's
   * transaction when it holds one: a stream exists then, so the key does too and is only read.
   */
  keys(db: Kysely<Database> = this.backend.db): Promise<SsfKeys> {
    return (this.keysLoading ??= loadSsfKeys(db).catch((error: unknown) => {
      this.keysLoading = null;
      throw error;
    }));
  }

  /**
   * Starts consuming and pushing; after the server knows its public URL, which is every SET's `iss`.
   * SETs no receiver took within `retentionDays` (the event stream's retention) are dropped, so a
   * receiver that went away for good does not grow the outbox without end.
   */
  async start(options: { retentionDays: number }): Promise<EventConsumer> {
    const { backend } = this;
    const delivery = new PushDelivery(backend.db, this.settings, this.metrics, backend.log);
    this.delivery = delivery;
    const inserted = () => {
      // After the consumer's transaction commits: a moment later is enough, the loops also poll.
      setTimeout(() => {
        delivery.wake();
        this.signal.notify();
      }, 20).unref();
    };
    this.consumer = new EventConsumer(backend.db, ssfOutboxConsumer((trx, events) => enqueueOutbox(trx, () => this.keys(trx), backend.issuer, backend.now(), events), inserted), { replicaId: backend.replicaId, log: backend.log, now: backend.now });
    await this.consumer.start();
    delivery.start();
    this.pruner = setInterval(() => {
      const before = new Date((backend.now() - options.retentionDays * 86_400) * 1000);
      backend.db
        .deleteFrom('ssf_outbox')
        .where('created_at', '<', before)
        .executeTakeFirst()
        .then((result) => {
          const dropped = Number(result.numDeletedRows);
          if (dropped > 0) backend.log.warn({ dropped, retention_days: options.retentionDays }, 'dropped SSF SETs no receiver took within the event retention');
        })
        .catch((error: unknown) => backend.log.warn({ err: error }, 'pruning the SSF outbox failed'));
    }, 60_000);
    this.pruner.unref();
    return this.consumer;
  }

  /** A stream changed (status, delivery, a verification SET): push what is due now. */
  kick(): void {
    this.delivery?.wake();
    this.signal.notify();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.pruner) clearInterval(this.pruner);
    this.signal.notify();
    await this.delivery?.stop();
  }
}

import type { Kysely } from 'kysely';
import type { ConsumerSpec } from '../events/consumer.js';
import type { StreamEvent } from '../events/types.js';
import type { Database } from '../store/schema.js';

/** Stream events that make SETs. */
const SIGNALLED = new Set<StreamEvent['type']>(['device.verdict_changed', 'device.revoked']);

export function isSignalled(event: StreamEvent): boolean {
  return SIGNALLED.has(event.type) && event.device_id !== null;
}

/**
 * The durable consumer that feeds every stream's outbox from the event stream: in the transaction
 * that stores its position, so each event becomes each stream's SET exactly once, across restarts
 * and replicas.
 */
export function ssfOutboxConsumer(enqueue: (trx: Kysely<Database>, events: readonly StreamEvent[]) => Promise<number>, inserted: () => void): ConsumerSpec {
  return {
    name: 'ssf-outbox',
    durable: true,
    async handle(events, trx) {
      if (!trx) throw new Error('the SSF outbox consumer is durable: it runs in the position transaction');
      const signalled = events.filter(isSignalled);
      if (signalled.length === 0) return;
      if ((await enqueue(trx, signalled)) > 0) inserted();
    },
  };
}

import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/open.js';

/** Changes every replica must act on at once. Small on purpose: NOTIFY payloads stay far below 8000 bytes. */
export const clusterEvent = z.discriminatedUnion('type', [
  /** A group's active policy changed: reload the policy cache. */
  z.object({ type: z.literal('policy.activated'), group: z.string(), version: z.number().int() }),
  /** Tell the connected agents of these groups (`default`: groups without a policy of their own) to report now. */
  z.object({ type: z.literal('collect.groups'), groups: z.array(z.string()).max(100) }),
  /** Tell these devices' connected agents to report now. */
  z.object({ type: z.literal('collect.devices'), device_ids: z.array(z.string()).max(100) }),
  /** Close this device's live streams with 4403. */
  z.object({ type: z.literal('device.revoked'), device_id: z.string() }),
]);
export type ClusterEvent = z.infer<typeof clusterEvent>;
export type ClusterEventHandler = (event: ClusterEvent) => void | Promise<void>;

export const EVENTS_CHANNEL = 'postern_events';

export interface ClusterEvents {
  /** Acts on the event in this process at once, and tells every other replica. Call after the change committed. */
  publish(event: ClusterEvent): Promise<void>;
  subscribe(handler: ClusterEventHandler): void;
  /** Called after the LISTEN connection was re-established: notifications may have been missed. */
  onResync(handler: () => void | Promise<void>): void;
  close(): Promise<void>;
}

/**
 * Replica-to-replica events. On PostgreSQL: `NOTIFY postern_events` with a JSON payload, and a
 * dedicated `pg` connection that LISTENs (reconnecting with backoff, then asking subscribers to
 * resync). A replica handles its own events directly and ignores their echo. On PGlite there is
 * one process, so events are handled locally only.
 */
export async function createClusterEvents(store: Store, log: Logger): Promise<ClusterEvents> {
  const origin = randomUUID();
  const handlers: ClusterEventHandler[] = [];
  const resyncs: Array<() => void | Promise<void>> = [];
  const dispatch = async (event: ClusterEvent) => {
    for (const handler of handlers) {
      try {
        await handler(event);
      } catch (error) {
        log.error({ err: error, event: event.type }, 'handling a cluster event failed');
      }
    }
  };

  let listener: pg.Client | null = null;
  let closed = false;
  let retryTimer: NodeJS.Timeout | null = null;
  const connect = async (attempt: number): Promise<void> => {
    if (closed || !store.connectionUrl) return;
    const client = new pg.Client({ connectionString: store.connectionUrl });
    client.on('notification', (message) => {
      if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
      let envelope: { origin?: unknown; event?: unknown };
      try {
        envelope = JSON.parse(message.payload) as typeof envelope;
      } catch {
        return;
      }
      if (envelope.origin === origin) return;
      const parsed = clusterEvent.safeParse(envelope.event);
      if (parsed.success) void dispatch(parsed.data);
    });
    const reconnect = (error?: unknown) => {
      if (closed || listener !== client) return;
      listener = null;
      log.warn({ err: error }, 'the LISTEN connection for cluster events was lost; reconnecting');
      client.end().catch(() => undefined);
      scheduleRetry(attempt + 1);
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
      listener = client;
      if (attempt > 0) for (const resync of resyncs) await resync();
    } catch (error) {
      await client.end().catch(() => undefined);
      if (attempt === 0) throw error;
      log.warn({ err: error }, 'reconnecting the LISTEN connection failed');
      scheduleRetry(attempt + 1);
    }
  };
  const scheduleRetry = (attempt: number) => {
    retryTimer = setTimeout(() => void connect(attempt), Math.min(30_000, 250 * 2 ** Math.min(attempt, 7)));
    retryTimer.unref();
  };
  if (store.kind === 'postgresql') await connect(0);

  return {
    async publish(event) {
      await dispatch(event);
      if (store.kind !== 'postgresql') return;
      try {
        await sql`select pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify({ origin, event })})`.execute(store.db);
      } catch (error) {
        log.error({ err: error, event: event.type }, 'telling other replicas failed');
      }
    },
    subscribe(handler) {
      handlers.push(handler);
    },
    onResync(handler) {
      resyncs.push(handler);
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const client = listener;
      listener = null;
      await client?.end().catch(() => undefined);
    },
  };
}

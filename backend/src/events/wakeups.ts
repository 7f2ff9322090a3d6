import pg from 'pg';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/open.js';
import { EVENTS_CHANNEL } from './append.js';

/**
 * Wake-ups for event consumers: NOTIFY on commit of new events, from this replica or any other.
 * Only a hint: consumers read the events table from their own position, and poll as well, so a
 * lost notification costs at most one poll interval. After the LISTEN connection is lost and
 * comes back, subscribers are woken at once, since notifications may have been missed meanwhile.
 */
export interface Wakeups {
  subscribe(handler: () => void): void;
  /** PostgreSQL: the backend pid of the LISTEN connection, for operators and tests; null while reconnecting or on PGlite. */
  listenerPid(): number | null;
  close(): Promise<void>;
}

export async function createWakeups(store: Store, log: Logger, replicaId: string): Promise<Wakeups> {
  const handlers: Array<() => void> = [];
  const wake = () => {
    for (const handler of handlers) handler();
  };
  if (store.kind === 'pglite') {
    const unlisten = await store.listen?.(EVENTS_CHANNEL, wake);
    return { subscribe: (h) => void handlers.push(h), listenerPid: () => null, close: async () => void (await unlisten?.()) };
  }

  let listener: pg.Client | null = null;
  let pid: number | null = null;
  let closed = false;
  let retryTimer: NodeJS.Timeout | null = null;
  const connect = async (attempt: number): Promise<void> => {
    if (closed || !store.connectionUrl) return;
    // Named, so an operator can tell the replicas' LISTEN connections apart in pg_stat_activity.
    const client = new pg.Client({ connectionString: store.connectionUrl, application_name: `postern-listen:${process.pid}:${replicaId.slice(0, 8)}` });
    client.on('notification', (message) => {
      if (message.channel === EVENTS_CHANNEL) wake();
    });
    const reconnect = (error?: unknown) => {
      if (closed || listener !== client) return;
      listener = null;
      pid = null;
      log.warn({ err: error }, 'the LISTEN connection for event wake-ups was lost; reconnecting (consumers poll meanwhile)');
      client.end().catch(() => undefined);
      scheduleRetry(attempt + 1);
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      listener = client;
      pid = rows[0]?.pid ?? null;
      if (attempt > 0) {
        log.info('the LISTEN connection for event wake-ups is back; catching up');
        wake();
      }
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
  await connect(0);

  return {
    subscribe: (h) => void handlers.push(h),
    listenerPid: () => pid,
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const client = listener;
      listener = null;
      await client?.end().catch(() => undefined);
    },
  };
}

import { PassThrough } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ConsumerSpec } from '../events/consumer.js';
import { readEvents } from '../events/read.js';
import type { StreamEvent } from '../events/types.js';
import type { Database } from '../store/schema.js';

/** A client further behind than this is told to reload instead of being replayed to. */
export const MAX_REPLAY = 5000;
const REPLAY_PAGE = 500;
/** A client that lets this much pile up is dropped; it comes back with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 1 << 20;
const KEEPALIVE_MS = 15_000;

interface Client {
  stream: PassThrough;
  /** Seq of the last event written to this client. */
  sent: number;
  /** While replaying from the database: live events held back until the replay is done. */
  held: StreamEvent[] | null;
}

const frame = (event: StreamEvent) => `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`;

/**
 * The dashboard's live updates on this replica: a per-replica consumer of the event stream
 * fans each event out to the browsers connected here as server-sent events. A browser that
 * reconnects sends Last-Event-ID (a seq) and is first replayed what it missed from the stream
 * itself, so a reconnect loses nothing and no event is sent twice.
 */
export class FleetFeed {
  private readonly clients = new Set<Client>();
  private readonly keepalive: NodeJS.Timeout;

  constructor() {
    this.keepalive = setInterval(() => {
      for (const client of this.clients) this.write(client, ': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get connected(): number {
    return this.clients.size;
  }

  consumer(): ConsumerSpec {
    return {
      name: 'dashboard-feed',
      durable: false,
      handle: (events) => {
        for (const client of this.clients) for (const event of events) this.deliver(client, event);
      },
    };
  }

  /**
   * A new client's stream: events after `after` (replayed from the stream, then live), or only
   * live ones when `after` is null. Ends when the returned stream is destroyed.
   */
  open(db: Kysely<Database>, after: number | null, head: number): PassThrough {
    const stream = new PassThrough();
    const client: Client = { stream, sent: after ?? head, held: after === null ? null : [] };
    this.clients.add(client);
    stream.on('close', () => this.clients.delete(client));
    stream.write(`retry: 1000\n: connected\n\n`);
    if (after !== null) {
      if (head - after > MAX_REPLAY) {
        // Too far behind to catch up by replay: start from the head, and say to reload the figures.
        client.sent = head;
        client.held = null;
        this.write(client, `event: reset\nid: ${head}\ndata: {"seq":${head}}\n\n`);
      } else {
        void this.replay(db, client).catch((error: unknown) => stream.destroy(error instanceof Error ? error : new Error(String(error))));
      }
    }
    return stream;
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const client of this.clients) client.stream.end();
    this.clients.clear();
  }

  private async replay(db: Kysely<Database>, client: Client): Promise<void> {
    for (;;) {
      const { events } = await readEvents(db, { after: client.sent, limit: REPLAY_PAGE });
      for (const event of events) this.send(client, event);
      if (events.length < REPLAY_PAGE || client.stream.destroyed) break;
    }
    const held = client.held ?? [];
    client.held = null;
    for (const event of held) this.send(client, event);
  }

  private deliver(client: Client, event: StreamEvent): void {
    if (client.held) client.held.push(event);
    else this.send(client, event);
  }

  private send(client: Client, event: StreamEvent): void {
    if (event.seq <= client.sent) return;
    client.sent = event.seq;
    this.write(client, frame(event));
  }

  private write(client: Client, text: string): void {
    if (client.stream.destroyed) return;
    if (client.stream.writableLength > MAX_BUFFERED_BYTES) {
      client.stream.destroy();
      return;
    }
    client.stream.write(text);
  }
}

import type { Kysely } from 'kysely';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../store/schema.js';
import { parseEvent, type StreamEvent } from './types.js';
import { streamHead } from './read.js';

export interface ConsumerSpec {
  /** Stable name: a durable consumer's identity; a replica's own consumers get `@<replica id>` appended. */
  name: string;
  /**
   * Durable consumers keep their position in the database across restarts and hold back
   * retention until they pass; a replica's own consumers (stream fan-out, caches) start at the
   * head, since what they serve starts empty, and their position expires with the replica.
   */
  durable: boolean;
  /**
   * Handles events in order. For a durable consumer it runs in the transaction that advances
   * the position, so database effects happen exactly once; an in-memory effect of a batch whose
   * commit fails is repeated with the batch.
   */
  handle(events: readonly StreamEvent[], trx: Kysely<Database> | null): Promise<void> | void;
}

export interface ConsumerOptions {
  replicaId: string;
  /** How often to look for events without a wake-up (a lost NOTIFY costs at most this). */
  pollMs?: number;
  batch?: number;
  log: Logger;
  now(): number;
}

const HEARTBEAT_MS = 30_000;

/**
 * Reads the event stream from its own last position: on a wake-up (NOTIFY), on a timer, and
 * after a lost LISTEN connection comes back, so nothing is missed and nothing is handled twice
 * by a consumer that stopped cleanly.
 */
export class EventConsumer {
  readonly id: string;
  private cursor = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastBeat = 0;
  private caughtUp: number | null = null;
  private readonly batch: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly spec: ConsumerSpec,
    private readonly options: ConsumerOptions,
  ) {
    this.id = spec.durable ? spec.name : `${spec.name}@${options.replicaId}`;
    this.batch = options.batch ?? 500;
  }

  /** The seq of the last event handled. */
  get position(): number {
    return this.cursor;
  }

  get name(): string {
    return this.spec.name;
  }

  /** When (options.now() seconds) a read last reached the head of the stream; null before the first. What it handled was current then. */
  get caughtUpAt(): number | null {
    return this.caughtUp;
  }

  async start(): Promise<void> {
    const start = await streamHead(this.db);
    const at = new Date(this.options.now() * 1000);
    await this.db
      .insertInto('event_consumers')
      .values({ name: this.id, last_seq: start, durable: this.spec.durable, heartbeat_at: at })
      .onConflict((oc) => (this.spec.durable ? oc.column('name').doUpdateSet({ heartbeat_at: at }) : oc.column('name').doUpdateSet({ last_seq: start, heartbeat_at: at })))
      .execute();
    const row = await this.db.selectFrom('event_consumers').select('last_seq').where('name', '=', this.id).executeTakeFirstOrThrow();
    this.cursor = Number(row.last_seq);
    this.lastBeat = Date.now();
    this.timer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.timer.unref();
    this.wake();
  }

  /** Reads what is new; calls made while a read runs make it read once more afterwards. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.options.log.warn({ err: error, consumer: this.id }, 'reading the event stream failed; trying again on the next wake-up'))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Waits until everything committed so far has been handled (tests, shutdown). */
  async settle(): Promise<void> {
    this.wake();
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    if (!this.spec.durable) await this.db.deleteFrom('event_consumers').where('name', '=', this.id).execute().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    const started = this.options.now();
    while (!this.stopped && (await this.step()) === this.batch);
    // Caught up only when the loop reached the head, not when a stop cut it short.
    if (!this.stopped) this.caughtUp = started;
  }

  private async step(): Promise<number> {
    if (this.spec.durable) {
      return this.db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('event_consumers').select('last_seq').where('name', '=', this.id).forUpdate().executeTakeFirstOrThrow();
        return this.take(trx, Number(row.last_seq));
      });
    }
    return this.take(null, this.cursor);
  }

  private async take(trx: Kysely<Database> | null, from: number): Promise<number> {
    const db = trx ?? this.db;
    const rows = await db.selectFrom('events').selectAll().where('seq', '>', from).orderBy('seq').limit(this.batch).execute();
    const beat = Date.now() - this.lastBeat > HEARTBEAT_MS;
    if (rows.length === 0 && !beat) return 0;
    const events: StreamEvent[] = [];
    for (const row of rows) {
      const event = parseEvent(row);
      if (event) events.push(event);
      else this.options.log.error({ consumer: this.id, seq: row.seq, type: row.type }, 'skipped an event that does not match its schema');
    }
    if (events.length > 0) await this.spec.handle(events, trx);
    const last = rows.length > 0 ? Number(rows[rows.length - 1]?.seq) : from;
    this.cursor = last;
    // A durable position is the consumer's memory: stored with every batch. A replica's own only
    // holds back retention (days): stored with the heartbeat, which spares a write per wake-up.
    if (this.spec.durable || beat) {
      await db
        .updateTable('event_consumers')
        .set({ last_seq: last, heartbeat_at: new Date(this.options.now() * 1000) })
        .where('name', '=', this.id)
        .execute();
      this.lastBeat = Date.now();
    }
    return rows.length;
  }
}

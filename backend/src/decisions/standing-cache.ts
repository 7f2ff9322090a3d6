import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { EventConsumer, type ConsumerOptions } from '../events/consumer.js';
import type { StreamEvent } from '../events/types.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import { DatabaseUnavailableError } from '../store/open.js';
import type { Database } from '../store/schema.js';
import { standingOf, type Decision, type Standing } from './decide.js';
import { GatewayMemory } from './gateway-memory.js';

export interface StandingCacheOptions {
  /** Reads one device's decision from the database (batched across requests); null for an unknown device. */
  read(deviceId: string): Promise<Decision | null>;
  /** Many devices' decisions at once (null for an unknown id): entries an event dropped are read again this way. */
  readMany(deviceIds: readonly string[]): Promise<Array<Decision | null>>;
  /** One page of every device's decision in id order, for the start. */
  readPage(after: string | null, limit: number): Promise<Decision[]>;
  /** POSTERN_DECISION_CACHE_ENTRIES: devices kept, least recently used out first. */
  maxEntries: number;
  /** POSTERN_DECISION_CACHE_MAX_S: how long an entry is trusted past the last time it was known current. */
  maxAgeS: number;
  now(): number;
}

export interface CachedStanding {
  standing: Standing;
  /** When (seconds) its read from the database began. */
  loadedAt: number;
}

/** After a read found the database unreachable, requests answer from memory this long before one of them tries again. */
const RETRY_READ_MS = 1_000;
const PAGE = 5_000;
/** Devices read again per statement after their events dropped them. */
const REFILL_PAGE = 1_000;

/**
 * Device standings in memory, so forward-auth and the compliance API read no database row.
 *
 * Kept current by the event stream: every event about a device evicts its entry and reads it
 * again in the background, many devices per statement, so the devices gateways ask about keep
 * answering from memory after a change (a `policy.applied` evicts its group's entries, read when
 * asked); a request that comes first reads it itself, once, however many ask at the same time.
 * A read that was under way when its device's event was handled is answered but not kept, so an
 * entry never predates an event the cache has passed. The consumer's position is taken before
 * the start-up snapshot is read, so no change falls between.
 *
 * An entry is read again once the standing may change by itself (`expires_at`, the standing's
 * `next_change_at`: the due-time sweep emits the event too), before answering; and `maxAgeS` after
 * it was read, in the background while it answers, so a report that changes a score but not the
 * verdict (no event) shows within about that time.
 *
 * While the database is unreachable an entry keeps answering until its expiry,
 * `min(next_change_at, last known current + maxAgeS)`, where "last known current" is the later of
 * its read and the last time the consumer reached the head of the stream; after that the device
 * fails closed (the read's error, a 503 `database_unavailable`).
 */
export class StandingCache {
  readonly consumer: EventConsumer;
  /** The gateway keys the compliance API accepted, fed by the same consumer (`gateway_key.revoked` drops one). */
  readonly gateways: GatewayMemory;
  readonly #entries: LRUCache<string, CachedStanding>;
  readonly #loads = new Map<string, Promise<Standing | null>>();
  /** Bumped by every eviction; a read keeps its result only if its device was not evicted after it began. */
  #generation = 0;
  readonly #evictedAt = new Map<string, number>();
  #readsUnderWay = 0;
  #unreachableAt = 0;
  /** Devices whose entries an event dropped, to read again; one refill loop at a time. */
  readonly #toRefill = new Set<string>();
  #refilling: Promise<void> | null = null;
  #stopped = false;

  constructor(
    db: Kysely<Database>,
    private readonly options: StandingCacheOptions,
    consumerOptions: ConsumerOptions,
  ) {
    this.#entries = new LRUCache<string, CachedStanding>({ max: options.maxEntries });
    this.gateways = new GatewayMemory({ maxAgeS: options.maxAgeS, now: options.now });
    this.consumer = new EventConsumer(db, { name: 'decision-cache', durable: false, handle: (events) => this.#apply(events) }, consumerOptions);
  }

  /** Starts the consumer (its position is the stream's head now), then reads the snapshot: at most `maxEntries` devices. */
  async start(): Promise<void> {
    await this.consumer.start();
    await this.#reading(async (generation) => {
      let after: string | null = null;
      while (this.#entries.size < this.options.maxEntries) {
        const loadedAt = this.options.now();
        const page = await this.options.readPage(after, Math.min(PAGE, this.options.maxEntries - this.#entries.size));
        for (const decision of page) this.#keep(decision.device.id, standingOf(decision), loadedAt, generation);
        if (page.length < PAGE) break;
        after = page[page.length - 1]?.device.id ?? null;
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.consumer.stop();
    await this.#refilling;
  }

  /** Resolves once the entries events dropped so far were read again (or the read failed): for tests. */
  async refilled(): Promise<void> {
    while (this.#refilling) await this.#refilling;
  }

  /** The seq of the last event applied: a change at or below it is reflected in every answer. */
  get position(): number {
    return this.consumer.position;
  }

  get size(): number {
    return this.#entries.size;
  }

  get maxAgeS(): number {
    return this.options.maxAgeS;
  }

  /** The device's standing: from memory while current, else read (and kept); from memory until its expiry while the database is unreachable. */
  async get(deviceId: string): Promise<Standing | null> {
    const now = this.options.now();
    const entry = this.#entries.get(deviceId);
    if (entry && now < this.#refreshAt(entry)) return entry.standing;
    const fromMemory = (error: unknown): Standing => {
      if (entry && now < this.expiryOf(entry)) return entry.standing;
      throw error;
    };
    // For a second after a read found the database unreachable, no request waits on another attempt.
    const unreachable = Date.now() - this.#unreachableAt < RETRY_READ_MS;
    if (unreachable) return fromMemory(new DatabaseUnavailableError('the database was unreachable a moment ago'));
    // Only its age is due (no change by itself yet, and the stream followed meanwhile): the entry
    // answers while it is read again, which only refreshes what changed without an event.
    if (entry && now < (entry.standing.expires_at ?? Infinity) && now < this.expiryOf(entry)) {
      this.#load(deviceId).then(
        () => (this.#unreachableAt = 0),
        (error: unknown) => {
          if (isDatabaseUnavailable(error)) this.#unreachableAt = Date.now();
        },
      );
      return entry.standing;
    }
    try {
      const standing = await this.#load(deviceId);
      this.#unreachableAt = 0;
      return standing;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      this.#unreachableAt = Date.now();
      return fromMemory(error);
    }
  }

  /** Until when `entry` may answer without the database: its standing's next change, or `maxAgeS` after it was last known current. */
  expiryOf(entry: CachedStanding): number {
    const current = Math.max(entry.loadedAt, this.consumer.caughtUpAt ?? 0);
    return Math.min(entry.standing.expires_at ?? Infinity, current + this.options.maxAgeS);
  }

  /** The entry as kept, for tests and diagnostics (does not count as a use). */
  peek(deviceId: string): CachedStanding | undefined {
    return this.#entries.peek(deviceId);
  }

  /** Forgets a device: the next request reads it, and a read under way is not kept. */
  evict(deviceId: string): void {
    this.#generation++;
    this.#entries.delete(deviceId);
    this.#loads.delete(deviceId);
    if (this.#readsUnderWay > 0) this.#evictedAt.set(deviceId, this.#generation);
  }

  #refreshAt(entry: CachedStanding): number {
    return Math.min(entry.standing.expires_at ?? Infinity, entry.loadedAt + this.options.maxAgeS);
  }

  #apply(events: readonly StreamEvent[]): void {
    const dropped: string[] = [];
    for (const event of events) {
      if (event.device_id !== null) {
        if (this.#entries.has(event.device_id)) dropped.push(event.device_id);
        this.evict(event.device_id);
      } else if (event.type === 'gateway_key.revoked') this.gateways.forget(event.data.gateway_key_id);
      // A new policy re-judges its group: scores and checks may change without a verdict event.
      else if (event.type === 'policy.applied') {
        const group = event.data.group;
        const ids = [...this.#entries.entries()].flatMap(([id, entry]) => (entry.standing.group === group ? [id] : []));
        // Not read again here: the group is judged again page by page after this event, and a
        // device without a verdict change gets no event of its own to say when its page is done.
        for (const id of ids) this.evict(id);
      }
    }
    this.#refill(dropped);
  }

  /**
   * Reads dropped entries again in the background: only devices that were in memory, so the cache
   * holds what it held. Each read begins after the evictions it follows; one dropped again while
   * it ran is not kept (#keep). A failed read leaves the devices to be read when asked.
   */
  #refill(deviceIds: readonly string[]): void {
    for (const id of deviceIds) this.#toRefill.add(id);
    if (this.#refilling || this.#toRefill.size === 0 || this.#stopped) return;
    this.#refilling = (async () => {
      try {
        while (this.#toRefill.size > 0 && !this.#stopped) {
          const page = [...this.#toRefill].slice(0, REFILL_PAGE);
          for (const id of page) this.#toRefill.delete(id);
          await this.#reading(async (generation) => {
            const loadedAt = this.options.now();
            const decisions = await this.options.readMany(page);
            decisions.forEach((decision, i) => {
              const id = page[i] as string;
              // A request may have read it meanwhile: that read began after the eviction too.
              if (decision && !this.#entries.has(id)) this.#keep(id, standingOf(decision), loadedAt, generation);
            });
          });
        }
      } catch {
        this.#toRefill.clear();
      } finally {
        this.#refilling = null;
      }
    })();
  }

  #load(deviceId: string): Promise<Standing | null> {
    const pending = this.#loads.get(deviceId);
    if (pending) return pending;
    const load = this.#reading(async (generation) => {
      const loadedAt = this.options.now();
      const decision = await this.options.read(deviceId);
      const standing = decision ? standingOf(decision) : null;
      // Unknown ids are not kept: they would push out real devices.
      if (standing) this.#keep(deviceId, standing, loadedAt, generation);
      return standing;
    }).finally(() => {
      if (this.#loads.get(deviceId) === load) this.#loads.delete(deviceId);
    });
    this.#loads.set(deviceId, load);
    return load;
  }

  async #reading<T>(work: (generation: number) => Promise<T>): Promise<T> {
    this.#readsUnderWay++;
    try {
      return await work(this.#generation);
    } finally {
      if (--this.#readsUnderWay === 0) this.#evictedAt.clear();
    }
  }

  #keep(deviceId: string, standing: Standing, loadedAt: number, generation: number): void {
    if ((this.#evictedAt.get(deviceId) ?? 0) > generation) return;
    this.#entries.set(deviceId, { standing, loadedAt });
  }
}

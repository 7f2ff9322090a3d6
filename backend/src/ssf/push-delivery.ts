import { sql, type Kysely } from 'kysely';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../store/schema.js';
import { retryDelayMs } from './backoff.js';
import { DELIVERY } from './event-types.js';
import type { SsfMetrics } from './metrics.js';
import { pushSet, PUSH_LIMITS, type PushOutcome } from './push-request.js';
import type { SsfSettings } from './settings.js';

/** How many streams one replica pushes to at once. */
const PARALLEL = 16;
/** A claim outlives the longest push; a replica killed mid-push leaves its SET to others after it. */
const CLAIM_MS = PUSH_LIMITS.timeoutMs + 5_000;
const IDLE_MS = 1_000;

interface Claimed {
  id: number;
  stream_id: string;
  jti: string;
  set_jwt: string;
  attempts: number;
  endpoint_url: string | null;
  authorization_header: string | null;
}

/**
 * Pushes each enabled push stream's SETs in order, one at a time per stream (RFC 8935). Any
 * number of replicas run it: each claims the oldest waiting SET of a stream with
 * `FOR UPDATE SKIP LOCKED` and a time-bounded claim, so a stream's SETs go one after another
 * whoever sends them, and a crash mid-push only delays the SET until the claim runs out.
 */
export class PushDelivery {
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly settings: SsfSettings,
    private readonly metrics: SsfMetrics,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), IDLE_MS);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.log.warn({ err: error }, 'SSF push delivery failed; trying again in a moment'))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const claimed = await this.claim();
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((row) => this.deliver(row)));
    }
  }

  private async claim(): Promise<Claimed[]> {
    const now = new Date();
    return this.db.transaction().execute(async (trx) => {
      // The oldest SET of each enabled push stream, if it is due and nobody holds it.
      const heads = await sql<{ id: string | number }>`
        select o.id from ssf_outbox o
        where o.id in (
          select min(h.id) from ssf_outbox h join ssf_streams s on s.id = h.stream_id
          where s.status = 'enabled' and s.delivery_method = ${DELIVERY.push}
          group by h.stream_id)
        and o.next_attempt_at <= ${now} and (o.claimed_until is null or o.claimed_until < ${now})
        order by o.id limit ${PARALLEL}
        for update of o skip locked`.execute(trx);
      const ids = heads.rows.map((r) => Number(r.id));
      if (ids.length === 0) return [];
      await trx.updateTable('ssf_outbox').set({ claimed_until: new Date(now.getTime() + CLAIM_MS) }).where('id', 'in', ids).execute();
      const rows = await trx
        .selectFrom('ssf_outbox')
        .innerJoin('ssf_streams', 'ssf_streams.id', 'ssf_outbox.stream_id')
        .select(['ssf_outbox.id', 'ssf_outbox.stream_id', 'ssf_outbox.jti', 'ssf_outbox.set_jwt', 'ssf_outbox.attempts', 'ssf_streams.endpoint_url', 'ssf_streams.authorization_header'])
        .where('ssf_outbox.id', 'in', ids)
        .execute();
      return rows.map((r) => ({ ...r, id: Number(r.id), attempts: Number(r.attempts) }));
    });
  }

  private async deliver(row: Claimed): Promise<void> {
    const outcome: PushOutcome = row.endpoint_url ? await pushSet(row.endpoint_url, row.set_jwt, row.authorization_header, this.settings.allow) : { result: 'failed', error: 'the stream has no endpoint_url' };
    this.metrics.deliveries.inc({ method: 'push', result: outcome.result });
    if (outcome.result === 'delivered' || outcome.result === 'rejected') {
      await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('ssf_outbox').where('id', '=', row.id).execute();
        const lastError = outcome.result === 'rejected' ? `the receiver refused SET ${row.jti} for good: ${outcome.err}${outcome.description ? `: ${outcome.description}` : ''}` : null;
        // A healthy stream's row is left alone: a delivery writes it only to clear a failure or record a refusal.
        let health = trx.updateTable('ssf_streams').set({ failing_since: null, last_error: lastError }).where('id', '=', row.stream_id);
        if (lastError === null) health = health.where((eb) => eb.or([eb('failing_since', 'is not', null), eb('last_error', 'is not', null)]));
        await health.execute();
      });
      if (outcome.result === 'rejected') this.log.warn({ stream: row.stream_id, jti: row.jti, err: outcome.err }, 'an SSF receiver refused a SET for good (RFC 8935 400); it is not sent again');
      return;
    }
    const attempts = row.attempts + 1;
    const next = new Date(Date.now() + retryDelayMs(attempts, this.settings.retryMaxS));
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('ssf_outbox').set({ attempts, next_attempt_at: next, claimed_until: null, last_error: outcome.error }).where('id', '=', row.id).execute();
      const failing = attempts >= this.settings.maxAttempts;
      await trx
        .updateTable('ssf_streams')
        .set((eb) => ({ last_error: `attempt ${attempts} of SET ${row.jti} failed: ${outcome.error}`, ...(failing ? { failing_since: eb.fn.coalesce('failing_since', sql<Date>`${new Date()}`) } : {}) }))
        .where('id', '=', row.stream_id)
        .execute();
    });
    if (attempts === this.settings.maxAttempts) this.log.warn({ stream: row.stream_id, jti: row.jti, error: outcome.error }, `SSF push failed ${attempts} times; the stream is marked failing and delivery keeps trying`);
  }
}

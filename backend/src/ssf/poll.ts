import { sql, type Kysely } from 'kysely';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../store/schema.js';
import type { SsfMetrics } from './metrics.js';
import type { StreamRow } from './streams.js';
import type { z } from 'zod';
import type { pollRequest } from './stream-schemas.js';

/** Without maxEvents, at most this many SETs per answer. */
const DEFAULT_MAX_EVENTS = 100;
/** A SET handed out and not acknowledged is handed out again after this (the answer may have been lost). */
export const REOFFER_MS = 30_000;
/** returnImmediately false waits at most this long for a SET (RFC 8936 §2.4 lets the transmitter bound it). */
export const LONG_POLL_MS = 15_000;

type PollRequest = z.infer<typeof pollRequest>;

/** Wakes long polls of this replica when its consumer stored SETs; other replicas' SETs are found by re-reading each second. */
export class OutboxSignal {
  private waiters = new Set<() => void>();
  notify(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}

/**
 * RFC 8936 poll: removes what the receiver acknowledged (or reported as errors, which are logged
 * and counted: the receiver will not take them either), then answers the oldest SETs not handed
 * out in the last REOFFER_MS, oldest first. A paused or disabled stream answers none.
 */
export async function pollSets(db: Kysely<Database>, stream: StreamRow, body: PollRequest, deps: { signal: OutboxSignal; metrics: SsfMetrics; log: Logger; closed: () => boolean }): Promise<{ sets: Record<string, string>; moreAvailable: boolean }> {
  const acks = body.ack ?? [];
  const errs = Object.entries(body.setErrs ?? {});
  if (acks.length + errs.length > 0) {
    const done = await db.deleteFrom('ssf_outbox').where('stream_id', '=', stream.id).where('jti', 'in', [...acks, ...errs.map(([jti]) => jti)]).returning('jti').execute();
    const gone = new Set(done.map((r) => r.jti));
    deps.metrics.deliveries.inc({ method: 'poll', result: 'acknowledged' }, acks.filter((j) => gone.has(j)).length);
    for (const [jti, error] of errs) {
      if (!gone.has(jti)) continue;
      deps.metrics.deliveries.inc({ method: 'poll', result: 'errored' });
      deps.log.warn({ stream: stream.id, jti, err: error.err, description: error.description }, 'an SSF receiver reported a SET it could not process (RFC 8936 setErrs); it is not offered again');
    }
  }
  const max = body.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (max === 0 || stream.status !== 'enabled') return { sets: {}, moreAvailable: false };
  const deadline = Date.now() + (body.returnImmediately === false ? LONG_POLL_MS : 0);
  for (;;) {
    const answer = await offer(db, stream.id, max);
    if (Object.keys(answer.sets).length > 0 || Date.now() >= deadline || deps.closed()) return answer;
    await deps.signal.wait(Math.min(1_000, deadline - Date.now()));
  }
}

async function offer(db: Kysely<Database>, streamId: string, max: number): Promise<{ sets: Record<string, string>; moreAvailable: boolean }> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const stale = new Date(now.getTime() - REOFFER_MS);
    const rows = await sql<{ id: string | number; jti: string; set_jwt: string }>`
      select id, jti, set_jwt from ssf_outbox
      where stream_id = ${streamId} and (offered_at is null or offered_at < ${stale})
      order by id limit ${max + 1}
      for update skip locked`.execute(trx);
    const handed = rows.rows.slice(0, max);
    if (handed.length > 0) await trx.updateTable('ssf_outbox').set({ offered_at: now }).where('id', 'in', handed.map((r) => Number(r.id))).execute();
    return { sets: Object.fromEntries(handed.map((r) => [r.jti, r.set_jwt])), moreAvailable: rows.rows.length > max };
  });
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultFrame } from '@postern/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../log.js';
import type { StateStore } from '../state/store.js';
import { fakeEnrollment } from '../testenv/fake-enrollment.js';
import { Backoff } from './backoff.js';
import { decide, LATER_ATTEMPTS, ReportProtocol, type Attempts, type ReportAnswer } from './report-protocol.js';
import { PersistedSeq } from './seq.js';

const result: ResultFrame = { type: 'result', seq: 7, verdict: 'compliant', score: 100, checks: [], token: 'a.b.c', nonce: 'n'.repeat(43) };
const refused = (code: string, retryAfterMs?: number): ReportAnswer => ({ kind: 'refused', refusal: { code, message: `said ${code}` }, retryAfterMs });
const failed = (retryAfterMs?: number): ReportAnswer => ({ kind: 'failed', reason: 'HTTP 502 without a Postern error body', retryAfterMs });
const fresh: Attempts = { retriedNow: false, laterLeft: LATER_ATTEMPTS };
const backoffMs = () => 1_234;

describe('decide', () => {
  it('accepts a result', () => {
    expect(decide({ kind: 'result', result }, fresh, backoffMs)).toEqual({ action: 'accept', result });
  });

  it('retries a stale nonce or a replayed seq at once, but only once per report', () => {
    expect(decide(refused('stale_nonce'), fresh, backoffMs)).toEqual({ action: 'retry_now', code: 'stale_nonce' });
    expect(decide(refused('replayed_seq'), fresh, backoffMs)).toEqual({ action: 'retry_now', code: 'replayed_seq' });
    expect(decide(refused('replayed_seq'), { ...fresh, retriedNow: true }, backoffMs)).toEqual({
      action: 'give_up',
      outcome: { accepted: false, refused: { code: 'replayed_seq', message: 'said replayed_seq' } },
    });
  });

  it('takes the device as revoked from the code revoked, and from nothing else', () => {
    expect(decide(refused('revoked'), fresh, backoffMs)).toMatchObject({ action: 'revoked', error: { code: 'revoked' } });
    for (const code of ['forbidden', 'not_compliant', 'unknown_key', 'bad_signature']) expect(decide(refused(code), fresh, backoffMs).action).toBe('give_up');
    expect(decide(failed(), fresh, backoffMs).action).toBe('retry_later');
  });

  it('waits as long as Retry-After asks when the server is busy, else as long as the backoff says', () => {
    expect(decide(refused('rate_limited', 5_000), fresh, backoffMs)).toEqual({ action: 'retry_later', delayMs: 5_000 });
    expect(decide(refused('rate_limited'), fresh, backoffMs)).toEqual({ action: 'retry_later', delayMs: 1_234 });
    expect(decide(refused('database_unavailable'), fresh, backoffMs)).toEqual({ action: 'retry_later', delayMs: 1_234 });
    expect(decide(refused('rate_limited', 3_600_000), fresh, backoffMs)).toEqual({ action: 'retry_later', delayMs: 300_000 });
  });

  it('retries an answer without a Postern error later, with backoff, and gives up with its reason once the pauses are spent', () => {
    expect(decide(failed(), fresh, backoffMs)).toEqual({ action: 'retry_later', delayMs: 1_234 });
    expect(decide(failed(2_000), fresh, backoffMs)).toEqual({ action: 'retry_later', delayMs: 2_000 });
    expect(decide(failed(), { ...fresh, laterLeft: 0 }, backoffMs)).toEqual({
      action: 'give_up',
      outcome: { accepted: false, failure: 'HTTP 502 without a Postern error body' },
    });
    expect(decide(refused('rate_limited'), { ...fresh, laterLeft: 0 }, backoffMs)).toMatchObject({ action: 'give_up', outcome: { refused: { code: 'rate_limited' } } });
  });

  it('gives up at once on a refusal no retry can fix', () => {
    for (const code of ['clock_skew', 'schema', 'bad_signature', 'unknown_key', 'internal', 'something_new']) {
      expect(decide(refused(code), fresh, backoffMs)).toEqual({ action: 'give_up', outcome: { accepted: false, refused: { code, message: `said ${code}` } } });
    }
  });
});

describe('ReportProtocol', () => {
  let dir: string;
  let store: StateStore;
  let protocol: ReportProtocol;
  const log = memoryLogger();
  const now = () => 1_767_225_600_000;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-protocol-'));
    ({ store } = await fakeEnrollment(dir));
    log.lines.length = 0;
    protocol = new ReportProtocol({ store, seq: new PersistedSeq(store, now), log, now, backoff: new Backoff({ baseMs: 10, capMs: 10, random: () => 0.5 }) });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves an accepted result and logs its verdict under the report\'s label', async () => {
    await protocol.settle({ kind: 'result', result }, 'over HTTP');
    expect(await store.readLastResult()).toMatchObject({ seq: 7, verdict: 'compliant', token: 'a.b.c' });
    expect(log.lines).toContain('report 7 accepted (over HTTP): verdict compliant, score 100');
  });

  it('skips seq ahead before the retry after replayed_seq', async () => {
    expect(await protocol.settle(refused('replayed_seq'), 'interval')).toEqual({ action: 'retry_now', code: 'replayed_seq' });
    expect((await store.readDevice())?.last_seq).toBe(now());
    expect(log.lines).toContain('warning: report refused by the server (replayed_seq): said replayed_seq; retrying now');
  });

  it('marks the device revoked in device.json when the server says revoked', async () => {
    expect((await protocol.settle(refused('revoked'), 'interval')).action).toBe('revoked');
    expect((await store.readDevice())?.status).toBe('revoked');
  });

  it('keeps the device active when the way to the server fails, however often', async () => {
    for (let i = 0; i < LATER_ATTEMPTS; i++) expect((await protocol.settle(failed(), 'over HTTP')).action).toBe('retry_later');
    expect(await protocol.settle(failed(), 'over HTTP')).toMatchObject({ action: 'give_up', outcome: { failure: expect.any(String) } });
    expect((await store.readDevice())?.status).toBe('active');
  });

  it('gives each report its own retries: what one report used up does not count against the next', async () => {
    await protocol.settle(refused('stale_nonce'), 'interval');
    expect((await protocol.settle(refused('stale_nonce'), 'interval')).action).toBe('give_up');
    expect((await protocol.settle(refused('stale_nonce'), 'interval')).action).toBe('retry_now');
    await protocol.settle({ kind: 'result', result }, 'interval');
    expect((await protocol.settle(refused('stale_nonce'), 'interval')).action).toBe('retry_now');
  });

  it('never gives up on a busy server when pauses are unlimited, as on the long-running stream', async () => {
    const stream = new ReportProtocol({ store, seq: new PersistedSeq(store, now), log, now, laterAttempts: Infinity });
    for (let i = 0; i < 20; i++) expect((await stream.settle(refused('rate_limited', 1_000), 'interval')).action).toBe('retry_later');
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evidenceClaims, type ResultFrame } from '@postern/shared';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../log.js';
import { FakeCollector } from '../testenv/fake-collector.js';
import { fakeEnrollment } from '../testenv/fake-enrollment.js';
import type { StateStore } from '../state/store.js';
import { Backoff } from './backoff.js';
import { ReportProtocol } from './report-protocol.js';
import { PersistedSeq } from './seq.js';
import { AgentSession, type SessionEvent } from './session.js';

const nonce = () => randomBytes(32).toString('base64url');
const tick = () => new Promise((r) => setTimeout(r, 20));
async function waitFor(check: () => boolean): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

function resultFor(seq: number, next: string): ResultFrame {
  return { type: 'result', seq, verdict: 'compliant', score: 100, checks: [], token: 'a.b.c', nonce: next };
}

describe('AgentSession', () => {
  let dir: string;
  let sent: Array<{ eat_nonce: string; seq: number }>;
  let events: SessionEvent[];
  let session: AgentSession;
  let collector: FakeCollector;
  let store: StateStore;
  const log = memoryLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-session-'));
    const enrolled = await fakeEnrollment(dir);
    const { key, device } = enrolled;
    store = enrolled.store;
    sent = [];
    events = [];
    collector = new FakeCollector();
    const seq = new PersistedSeq(store);
    session = new AgentSession({
      device_id: device.device_id,
      ueid: device.ueid,
      key,
      collector,
      seq,
      protocol: new ReportProtocol({ store, seq, log, laterAttempts: Infinity, backoff: new Backoff({ baseMs: 20, capMs: 20, random: () => 0.5 }) }),
      send: (text) => sent.push(evidenceClaims.parse(decodeJwt(JSON.parse(text).token))),
      onEvent: (e) => events.push(e),
      log,
    });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ignores frames that fail the schema and reports once a valid challenge arrives', async () => {
    session.receive('not json');
    session.receive(JSON.stringify({ type: 'challenge', nonce: 'short', server_time: 1 }));
    session.receive(JSON.stringify({ type: 'surprise' }));
    await tick();
    expect(sent).toEqual([]);
    expect(log.lines.filter((l) => l.includes('ignored'))).toHaveLength(3);

    const first = nonce();
    session.receive(JSON.stringify({ type: 'challenge', nonce: first, server_time: Math.floor(Date.now() / 1000) }));
    await waitFor(() => sent.length > 0);
    expect(sent).toMatchObject([{ eat_nonce: first, seq: 1 }]);
  });

  it('holds a report asked for while one is in flight, then sends it with the nonce the answer carried', async () => {
    session.handle({ type: 'challenge', nonce: nonce(), server_time: 0 });
    await waitFor(() => sent.length === 1);
    session.handle({ type: 'collect' });
    session.handle({ type: 'collect' });
    await tick();
    expect(sent).toHaveLength(1);

    const next = nonce();
    session.handle(resultFor(1, next));
    await waitFor(() => sent.length === 2);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ eat_nonce: next, seq: 2 });
    expect(session.lastReported).not.toBeNull();
  });

  it('retries once, with the new nonce, after a stale_nonce refusal', async () => {
    session.handle({ type: 'challenge', nonce: nonce(), server_time: 0 });
    await waitFor(() => sent.length === 1);
    const n1 = nonce();
    session.handle({ type: 'error', code: 'stale_nonce', message: 'nonce expired', nonce: n1 });
    await waitFor(() => sent.length === 2);
    expect(sent.map((s) => s.eat_nonce)).toEqual([expect.any(String), n1]);

    session.handle({ type: 'error', code: 'stale_nonce', message: 'nonce expired', nonce: nonce() });
    await tick();
    expect(sent).toHaveLength(2);
    expect(events.filter((e) => e.kind === 'refused').map((e) => (e as { retrying: boolean }).retrying)).toEqual([true, false]);
  });

  it('sends nothing after it was closed', async () => {
    session.close();
    session.handle({ type: 'challenge', nonce: nonce(), server_time: 0 });
    await tick();
    expect(sent).toEqual([]);
  });

  it('sends the same posture again after a pause when the server is rate limiting, with the nonce the refusal carried', async () => {
    session.handle({ type: 'challenge', nonce: nonce(), server_time: 0 });
    await waitFor(() => sent.length === 1);
    const next = nonce();
    session.handle({ type: 'error', code: 'rate_limited', message: 'the server is at capacity', nonce: next });
    await tick();
    expect(events.filter((e) => e.kind === 'refused')).toMatchObject([{ retrying: true, decision: { action: 'retry_later', delayMs: 10 } }]);
    await waitFor(() => sent.length === 2);
    expect(sent[1]).toMatchObject({ eat_nonce: next, seq: 2 });
    expect(collector.calls).toBe(1);
  });

  it('skips seq ahead before sending again after replayed_seq', async () => {
    session.handle({ type: 'challenge', nonce: nonce(), server_time: 0 });
    await waitFor(() => sent.length === 1);
    session.handle({ type: 'error', code: 'replayed_seq', message: 'seq 1 is not above 9000', nonce: nonce() });
    await waitFor(() => sent.length === 2);
    expect(sent[1]!.seq).toBeGreaterThan(1_700_000_000_000);
    expect((await store.readDevice())?.last_seq).toBe(sent[1]!.seq);
  });

  it('hands a revocation pushed by the server to the protocol, which marks the device revoked', async () => {
    session.handle({ type: 'error', code: 'revoked', message: 'an administrator revoked this device' });
    await waitFor(() => events.some((e) => e.kind === 'refused'));
    expect(events.find((e) => e.kind === 'refused')).toMatchObject({ retrying: false, decision: { action: 'revoked', error: { code: 'revoked' } } });
    await session.idle();
    expect((await store.readDevice())?.status).toBe('revoked');
  });
});

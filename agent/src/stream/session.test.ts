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
  const log = memoryLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-session-'));
    const { store, key, device } = await fakeEnrollment(dir);
    sent = [];
    events = [];
    collector = new FakeCollector();
    session = new AgentSession({
      device_id: device.device_id,
      ueid: device.ueid,
      key,
      collector,
      seq: new PersistedSeq(store),
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
});

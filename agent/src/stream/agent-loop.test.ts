import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EAR_PROFILE, evidenceClaims, type CheckResult, type EvidenceClaims } from '@postern/shared';
import { generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { memoryLogger } from '../log.js';
import type { StateStore } from '../state/store.js';
import { FakeCollector, fakePostureChanged } from '../testenv/fake-collector.js';
import { fakeEnrollment } from '../testenv/fake-enrollment.js';
import type { DeviceKey, KeyStore } from '../keystore/key-store.js';
import { Backoff } from './backoff.js';
import { reportOnce, startAgent, type AgentLoopOptions } from './agent-loop.js';

const newNonce = () => randomBytes(32).toString('base64url');

const FAILING: CheckResult = {
  id: 'disk_encryption',
  status: 'fail',
  severity: 'high',
  weight: 30,
  message: 'The system disk is not encrypted.',
  remediation: 'Turn on full-disk encryption.',
  failing_since: 1_750_000_000,
};

interface Received {
  claims: EvidenceClaims;
  /** The nonce the fake backend expected for this attestation. */
  expected: string;
  connection: number;
}

/**
 * A tiny stand-in for the backend's /v1/agent: challenge on upgrade, verify each
 * attestation with jose against the enrolled key, answer a result with a new nonce.
 */
async function fakeBackend(devicePublicJwk: DeviceKey['publicJwk']) {
  const serverKey = await generateKeyPair('ES256');
  const deviceKey = await importJWK(devicePublicJwk, 'ES256');
  const received: Received[] = [];
  const closes: number[] = [];
  const sockets: WebSocket[] = [];
  let connections = 0;
  let onAttestation: (ws: WebSocket, r: Received) => void = () => {};
  let onConnect: (ws: WebSocket) => boolean = () => true;

  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/v1/agent', handleProtocols: (p) => (p.has('postern.v1') ? 'postern.v1' : false) });
  wss.on('connection', (ws) => {
    const connection = ++connections;
    sockets.push(ws);
    ws.on('close', (code) => closes.push(code));
    if (!onConnect(ws)) return;
    let nonce = newNonce();
    ws.send(JSON.stringify({ type: 'challenge', nonce, server_time: Math.floor(Date.now() / 1000) }));
    ws.on('message', async (data) => {
      const frame = JSON.parse(String(data));
      const { payload } = await jwtVerify(frame.token, deviceKey, { algorithms: ['ES256'], typ: 'eat+jwt' });
      const claims = evidenceClaims.parse(payload);
      const r = { claims, expected: nonce, connection };
      received.push(r);
      nonce = newNonce();
      const ear = await new SignJWT({
        eat_profile: EAR_PROFILE,
        submods: { device: { 'ear.status': 'contraindicated' } },
        cnf: { jkt: 'x' },
        postern: { verdict: 'noncompliant', score: 70, failing: ['disk_encryption'], group: 'employees' },
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
        .setSubject(claims.device_id)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(serverKey.privateKey);
      ws.send(JSON.stringify({ type: 'result', seq: claims.seq, verdict: 'noncompliant', score: 70, checks: [FAILING], token: ear, nonce }));
      onAttestation(ws, r);
    });
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    closes,
    sockets,
    get connections() {
      return connections;
    },
    set onAttestation(fn: (ws: WebSocket, r: Received) => void) {
      onAttestation = fn;
    },
    set onConnect(fn: (ws: WebSocket) => boolean) {
      onConnect = fn;
    },
    close: () => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    }),
  };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the agent stream client', () => {
  let dir: string;
  let backend: Awaited<ReturnType<typeof fakeBackend>>;
  let store: StateStore;
  let keyStore: KeyStore;
  let options: AgentLoopOptions;
  const log = memoryLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-stream-'));
    const enrolled = await fakeEnrollment(dir);
    backend = await fakeBackend(enrolled.key.publicJwk);
    await enrolled.store.updateDevice((d) => ({ ...d, server: backend.url }));
    store = enrolled.store;
    keyStore = enrolled.keyStore;
    log.lines.length = 0;
    options = {
      store,
      keyStore,
      collector: new FakeCollector(),
      postureChanged: fakePostureChanged,
      log,
      backoff: new Backoff({ baseMs: 20, capMs: 100 }),
    };
  });
  afterEach(async () => {
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the challenge, and reports again with the new nonce when the server sends collect', async () => {
    backend.onAttestation = (ws) => {
      if (backend.received.length === 1) ws.send(JSON.stringify({ type: 'collect' }));
    };
    const agent = startAgent(options);
    await waitFor(() => backend.received.length === 2, 'two attestations');
    agent.stop();
    await agent.done;

    const [first, second] = backend.received;
    expect(first!.claims.eat_nonce).toBe(first!.expected);
    expect(second!.claims.eat_nonce).toBe(second!.expected);
    expect(second!.claims.eat_nonce).not.toBe(first!.claims.eat_nonce);
    expect(second!.claims.seq).toBeGreaterThan(first!.claims.seq);

    await waitFor(() => backend.closes.length === 1, 'the close');
    expect(backend.closes).toEqual([1000]);
  });

  it('saves the result and logs the verdict, score and what to fix', async () => {
    const agent = startAgent(options);
    await waitFor(() => backend.received.length === 1, 'an attestation');
    await waitFor(() => log.lines.some((l) => l.includes('Fix:')), 'the result log');
    agent.stop();
    await agent.done;

    expect(log.lines).toContain(`report 1 accepted (connected): verdict noncompliant, score 70`);
    expect(log.lines).toContain('  ✗ disk_encryption (high): The system disk is not encrypted. Fix: Turn on full-disk encryption.');
    const last = await store.readLastResult();
    expect(last).toMatchObject({ seq: 1, verdict: 'noncompliant', score: 70, checks: [FAILING] });
    expect((await store.readDevice())?.group).toBe('employees');
  });

  it('reconnects after the connection drops and keeps seq increasing', async () => {
    backend.onAttestation = (ws) => setTimeout(() => ws.terminate(), 5);
    const agent = startAgent(options);
    await waitFor(() => backend.received.length >= 3, 'three attestations over several connections');
    agent.stop();
    await agent.done;

    const seqs = backend.received.map((r) => r.claims.seq);
    expect(new Set(backend.received.map((r) => r.connection)).size).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    expect(log.lines.some((l) => /reconnecting in \d/.test(l))).toBe(true);
  });

  it('reports early when the posture re-check finds a change', async () => {
    const collector = new FakeCollector();
    const agent = startAgent({ ...options, collector, checkIntervalMs: 30 });
    await waitFor(() => backend.received.length === 1, 'the first attestation');
    await waitFor(() => log.lines.some((l) => l.startsWith('report 1 accepted')), 'the first result');
    collector.posture = { ...collector.posture, firewall: { status: 'ok', collected_at: Math.floor(Date.now() / 1000), enabled: false, backend: 'nftables', profiles: [] } };
    await waitFor(() => backend.received.length === 2, 'a report after the change');
    // The reason is logged with the answer, which may come after the report reached the server.
    await waitFor(() => log.lines.some((l) => l.includes('(posture changed)')), 'the answer to that report');
    agent.stop();
    await agent.done;
    expect(backend.received[1]!.claims.posture.firewall).toMatchObject({ enabled: false });
    expect(log.lines.some((l) => l.includes('(posture changed)'))).toBe(true);
  });

  it('applies a config frame to the report interval and saves it', async () => {
    backend.onAttestation = (ws) => ws.send(JSON.stringify({ type: 'config', report_interval_s: 42 }));
    const agent = startAgent(options);
    await waitFor(() => log.lines.some((l) => l.includes('42 s')), 'the config');
    await waitFor(() => backend.received.length === 1, 'an attestation');
    agent.stop();
    await agent.done;
    expect((await store.readDevice())?.report_interval_s).toBe(42);
  });

  it('stops with a revoked error when the server closes with 4403', async () => {
    backend.onConnect = (ws) => {
      ws.close(4403, 'device revoked');
      return false;
    };
    const agent = startAgent(options);
    await expect(agent.done).rejects.toMatchObject({ code: 'revoked' });
    expect((await store.readDevice())?.status).toBe('revoked');
  });

  it('stops with a revoked error when the server pushes an error frame with the code revoked, as an admin revocation does', async () => {
    backend.onAttestation = (ws) => ws.send(JSON.stringify({ type: 'error', code: 'revoked', message: 'an administrator revoked this device', nonce: newNonce() }));
    const agent = startAgent(options);
    await expect(agent.done).rejects.toMatchObject({ code: 'revoked' });
    expect((await store.readDevice())?.status).toBe('revoked');
    expect(await store.readLastResult()).toMatchObject({ seq: 1 });
  });

  it('backs off and tries again after 4401', async () => {
    backend.onConnect = (ws) => {
      if (backend.connections > 2) return true;
      ws.close(4401, 'authentication failed');
      return false;
    };
    const agent = startAgent(options);
    await waitFor(() => backend.received.length === 1, 'an attestation on the third connection');
    agent.stop();
    await agent.done;
    expect(log.lines.filter((l) => l.includes("did not accept this device's attestation (4401"))).toHaveLength(2);
  });

  it('with once, returns the accepted result and closes cleanly', async () => {
    const outcome = await reportOnce(options);
    expect(outcome).toMatchObject({ accepted: true, result: { verdict: 'noncompliant', score: 70 } });
    await waitFor(() => backend.closes.length === 1, 'the close');
    expect(backend.closes).toEqual([1000]);
  });

  it('with once, fails clearly when the server cannot be reached', async () => {
    await backend.close();
    await expect(reportOnce(options)).rejects.toMatchObject({ code: 'no_answer', message: expect.stringMatching(/could not reach .*ECONNREFUSED.*check the server URL/) });
  });

  it('closes its stream to rotate a key older than the config frame allows, keeps the key when the rotation cannot be done, and connects again', async () => {
    await store.updateDevice((d) => ({ ...d, key_created_at: Math.floor(Date.now() / 1000) - 120 }));
    backend.onAttestation = (ws, r) => {
      if (r.connection === 1) ws.send(JSON.stringify({ type: 'config', report_interval_s: 300, key_max_age_s: 60 }));
    };
    const agent = startAgent(options);
    await waitFor(() => backend.received.some((r) => r.connection === 2), 'a report on the next connection');
    agent.stop();
    await agent.done;
    expect(backend.closes[0]).toBe(1000);
    expect(log.lines.join('\n')).toMatch(/older than the server allows \(60 s\): rotating it[\s\S]*warning: could not rotate the device key \(.*\); keeping both keys/);
    expect((await store.readDevice())?.key_max_age_s).toBe(60);
    // After a failed try, the next connection is not ended for the key's age: it keeps reporting.
    expect(log.lines.filter((l) => l.includes('older than the server allows')), log.lines.join('\n')).toHaveLength(1);
    // Nothing was lost: the key the server knows still signs.
    expect(backend.received.at(-1)?.claims.device_id).toBe((await store.readDevice())?.device_id);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '@postern/testkit/cli';
import { FakeDevice, type StreamSession } from '@postern/testkit/fake-device';
import { agentBin } from '@postern/testkit/paths';
import { findPostgresBinaries, startThrowawayCluster, type ThrowawayCluster } from '@postern/testkit/postgres/cluster';
import { unencryptedLinuxPosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';

/** How long a cached standing answers past the last moment it was known current (POSTERN_DECISION_CACHE_MAX_S). */
const MAX_S = 10;

interface Answer {
  at: number;
  what: string;
  status: number;
}

/**
 * A real backend on a real PostgreSQL that the test kills (`pg_ctl stop -m immediate`) and
 * starts again, under a light steady load of forward-auth and compliance calls: decisions keep
 * coming from memory, then fail closed; nothing answers 500; everything else says 503
 * database_unavailable with Retry-After; a report refused meanwhile is delivered after; and the
 * same backend process answers normally again once the database is back.
 */
describe('a database outage under forward-auth load', () => {
  let cluster: ThrowawayCluster;
  let server: ServerProcess;
  let gatewayKey: string;
  let authzUrl: string;
  let compliant: { device: FakeDevice; token: string };
  let failing: { device: FakeDevice; token: string };
  let session: StreamSession;
  let agentState: string;
  let agentChild: ChildProcess | null = null;
  const answers: Answer[] = [];
  let load: { stop(): Promise<void> } | null = null;

  beforeAll(async () => {
    const binaries = findPostgresBinaries().found;
    if (!binaries) throw new Error('this test needs the PostgreSQL 15 server binaries (apt-get install postgresql-15)');
    cluster = await startThrowawayCluster(binaries);
    const dataDir = await mkdtemp(join(tmpdir(), 'postern-outage-'));
    server = await ServerProcess.startOn(
      { dataDir, databaseUrl: cluster.url, cleanup: () => rm(dataDir, { recursive: true, force: true }) },
      { POSTERN_DECISION_CACHE_MAX_S: String(MAX_S) },
    );
    authzUrl = `${server.url}/v1/authz`;
    gatewayKey = await server.gatewayKey();
    compliant = await enrolled();
    failing = await enrolled(unencryptedLinuxPosture());
    // An agent stream opened before the outage, which reports during it.
    session = await compliant.device.connect(server.url);
    // And the real agent, enrolled before it.
    agentState = await mkdtemp(join(tmpdir(), 'postern-outage-agent-'));
    const enrolledAgent = await cli(agentBin, ['enroll', '--server', server.url, '--token', await server.enrollmentToken(), '--state', agentState]);
    expect(enrolledAgent.code, enrolledAgent.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await load?.stop();
    if (agentChild?.exitCode === null) agentChild.kill();
    session?.close();
    await server?.stop();
    cluster?.stop();
    if (agentState) await rm(agentState, { recursive: true, force: true });
  });

  async function enrolled(posture?: Parameters<FakeDevice['report']>[1]) {
    const device = await FakeDevice.create();
    expect((await device.enroll(server.url, await server.enrollmentToken())).status).toBe(201);
    const { session: first, answer } = await device.report(server.url, posture);
    first.close();
    if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
    return { device, token: answer.token };
  }

  async function authz({ device, token }: { device: FakeDevice; token: string }): Promise<Response> {
    return fetch(authzUrl, { headers: { authorization: `DPoP ${token}`, dpop: await device.dpopProof(authzUrl, token) } });
  }
  const compliance = (deviceId: string) => fetch(`${server.url}/v1/devices/${deviceId}/compliance`, { headers: { authorization: `Bearer ${gatewayKey}` } });
  const admin = (path: string, method = 'GET') => fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${server.adminToken}` } });

  /** Forward-auth for both devices and a compliance call, every 100 ms, each answer recorded. */
  function steadyLoad(): { stop(): Promise<void> } {
    let running = true;
    const record = (what: string) => async (response: Response) => {
      answers.push({ at: Date.now(), what, status: response.status });
      await response.body?.cancel();
    };
    const loop = (async () => {
      while (running) {
        await Promise.all([
          authz(compliant).then(record('authz compliant')),
          authz(failing).then(record('authz failing')),
          compliance(compliant.device.deviceId).then(record('compliance')),
        ]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
      },
    };
  }

  /** `postern-agent run --once`, its output readable while it runs. */
  function runAgentOnce(): { output(): string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [agentBin, 'run', '--once', '--state', agentState], { stdio: ['ignore', 'pipe', 'pipe'] });
    agentChild = child;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return { output: () => output, exited: new Promise((resolve) => child.once('exit', resolve)) };
  }

  async function until(what: string, check: () => Promise<boolean>, limitMs: number): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what}: not within ${limitMs} ms`);
  }

  async function expectDatabaseUnavailable(response: Response): Promise<void> {
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ code: 'database_unavailable', detail: expect.stringMatching(/database is unreachable.*retry/) });
  }

  it('answers from memory, then fails closed, never 500, and recovers by itself', async () => {
    const pid = server.child.pid;
    const enrollmentToken = await server.enrollmentToken();
    expect((await authz(compliant)).status).toBe(200);
    expect((await authz(failing)).status).toBe(403);
    load = steadyLoad();
    await new Promise((r) => setTimeout(r, 1000));

    cluster.halt();
    const haltedAt = Date.now();

    // Within the cached standings' life: the same answers as before, from memory.
    const allowed = await authz(compliant);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('cache-control')).toBe('no-store');
    expect((await authz(failing)).status).toBe(403);
    const answered = await compliance(compliant.device.deviceId);
    expect(answered.status).toBe(200);
    expect(answered.headers.get('cache-control')).toBe('no-store');
    expect(await answered.json()).toMatchObject({ device_id: compliant.device.deviceId, verdict: 'compliant' });
    // A proof is still single-use on this replica while the database cannot record it.
    const proof = await compliant.device.dpopProof(authzUrl, compliant.token);
    expect((await fetch(authzUrl, { headers: { authorization: `DPoP ${compliant.token}`, dpop: proof } })).status).toBe(200);
    expect((await fetch(authzUrl, { headers: { authorization: `DPoP ${compliant.token}`, dpop: proof } })).status).toBe(401);
    expect(Date.now() - haltedAt).toBeLessThan(MAX_S * 1000 - 2000);

    // Everything else: 503 database_unavailable with Retry-After.
    await expectDatabaseUnavailable(await admin('/v1/admin/devices'));
    await expectDatabaseUnavailable(await fetch(`${server.url}/healthz`));
    const newcomer = await FakeDevice.create();
    await expectDatabaseUnavailable(await fetch(`${server.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request: await newcomer.enrollmentRequest(enrollmentToken) }) }));
    // A report over the stream is refused with a code that says "later", and the stream stays open.
    const refused = await session.attest(await compliant.device.evidence(session.nonce));
    expect(refused).toMatchObject({ type: 'error', code: 'database_unavailable' });
    // The same over HTTP, whose nonce needs no database.
    const { nonce } = (await (await fetch(`${server.url}/v1/nonce`)).json()) as { nonce: string };
    const posted = await fetch(`${server.url}/v1/attestations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: await failing.device.evidence(nonce) }) });
    await expectDatabaseUnavailable(posted);

    // Past the cached standings' expiry: forward-auth and compliance fail closed.
    await until('forward-auth fails closed', async () => (await authz(compliant)).status === 503, (MAX_S + 5) * 1000);
    const closed = await authz(compliant);
    expect(closed.headers.get('cache-control')).toBe('no-store');
    await expectDatabaseUnavailable(closed);
    await expectDatabaseUnavailable(await compliance(compliant.device.deviceId));
    expect(Date.now() - haltedAt).toBeGreaterThanOrEqual((MAX_S - 3) * 1000);

    // The real agent reports now: refused, it keeps the report and sends it again after a pause.
    const agentRun = runAgentOnce();
    await until('the agent is refused', async () => /database_unavailable/.test(agentRun.output()), 30_000);

    cluster.resume();
    const resumedAt = Math.floor(Date.now() / 1000);
    await until('ready again', async () => (await fetch(`${server.url}/healthz`)).status === 200, 30_000);
    await until('forward-auth answers again', async () => (await authz(compliant)).status === 200, 15_000);
    expect((await authz(failing)).status).toBe(403);
    expect((await compliance(compliant.device.deviceId)).status).toBe(200);
    expect((await admin('/v1/admin/devices')).status).toBe(200);

    // The refused report, sent again on the same stream with the nonce the refusal carried, is stored now.
    const delivered = await session.attest(await compliant.device.evidence(session.nonce));
    expect(delivered).toMatchObject({ type: 'result', verdict: 'compliant', seq: compliant.device.seq });
    const detail = (await (await admin(`/v1/admin/devices/${compliant.device.deviceId}`)).json()) as { last_seen_at: number };
    expect(detail.last_seen_at).toBeGreaterThanOrEqual(resumedAt);
    const agentCode = await agentRun.exited;
    const agentSaid = agentRun.output();
    expect(agentCode, agentSaid).toBe(0);
    expect(agentSaid).toMatch(/report refused by the server \(database_unavailable\).*trying again/);
    expect(agentSaid).toMatch(/report \d+ accepted/);
    // The enrollment refused during the outage goes through now, with the same token.
    expect((await newcomer.enroll(server.url, enrollmentToken)).status).toBe(201);
    // A device the cache has never seen is read once the database is back, under the same load.
    const { session: first, answer } = await newcomer.report(server.url);
    first.close();
    if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
    expect((await authz({ device: newcomer, token: answer.token })).status).toBe(200);

    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    load = null;
    // The same process throughout, and no answer outside what gateways understand.
    expect(server.child.pid).toBe(pid);
    expect(server.child.exitCode).toBeNull();
    expect(answers.filter((a) => a.status === 500)).toEqual([]);
    for (const a of answers) expect([200, 403, 503], `${a.what} answered ${a.status}`).toContain(a.status);
    const during = answers.filter((a) => a.what === 'authz compliant' && a.at > haltedAt);
    expect(during.some((a) => a.status === 200)).toBe(true);
    expect(during.some((a) => a.status === 503)).toBe(true);
    expect(answers.filter((a) => a.what === 'authz failing').every((a) => a.status !== 200)).toBe(true);
  }, 120_000);
});

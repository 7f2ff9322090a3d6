import { createHmac, randomBytes } from 'node:crypto';
import { exportSPKI, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, EVIDENCE_PROFILE, type ServerFrame } from '@postern/shared';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { healthyLinuxPosture, unencryptedLinuxPosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function expectError(frame: ServerFrame, code: string): void {
  expect(frame.type).toBe('error');
  if (frame.type !== 'error') return;
  expect(frame.code).toBe(code);
  expect(frame.message.length).toBeGreaterThan(10);
}

describe.each(databaseKinds)('the agent stream on %s refuses hostile input', (kind) => {
  let server: ServerProcess;
  let gatewayKey: string;

  beforeAll(async () => {
    server = await ServerProcess.start(kind, { POSTERN_ATTESTATION_TIMEOUT_S: '2', POSTERN_ENROLL_FAILURES_PER_MINUTE: '1000' });
    gatewayKey = await server.gatewayKey();
  });
  afterAll(() => server?.stop());

  /** An enrolled device that has made one honest report on an open, authenticated stream. */
  async function reportedDevice() {
    const device = await FakeDevice.create();
    expect((await device.enroll(server.url, await server.enrollmentToken())).status).toBe(201);
    const { session, answer } = await device.report(server.url);
    expect(answer.type).toBe('result');
    const before = await server.compliance(device.deviceId, gatewayKey);
    return { device, session, before };
  }

  async function expectUntouched(deviceId: string, before: { body: Record<string, unknown> }) {
    const after = await server.compliance(deviceId, gatewayKey);
    expect(after.body).toEqual(before.body);
  }

  it('accepts an honest report and answers with verdict, score, checks, a result token and a fresh nonce', async () => {
    const device = await FakeDevice.create();
    await device.enroll(server.url, await server.enrollmentToken());
    const session = await device.connect(server.url);
    const first = session.nonce;
    const answer = await session.attest(await device.evidence(first));
    expect(answer).toMatchObject({ type: 'result', seq: 1, verdict: 'compliant', score: 100 });
    if (answer.type !== 'result') return;
    expect(answer.nonce).not.toBe(first);
    expect(answer.checks.map((c) => c.id)).toEqual(['os.min_version', 'disk_encryption.system_volume', 'firewall.enabled', 'patches.max_pending_security']);
    const compliance = await server.compliance(device.deviceId, gatewayKey);
    expect(compliance.body).toMatchObject({ device_id: device.deviceId, verdict: 'compliant', score: 100, policy: 'default@1' });
    session.close();
  });

  it('judges a device with an unencrypted system volume noncompliant and names the remediation', async () => {
    const device = await FakeDevice.create();
    await device.enroll(server.url, await server.enrollmentToken());
    const { session, answer } = await device.report(server.url, unencryptedLinuxPosture());
    expect(answer).toMatchObject({ type: 'result', verdict: 'noncompliant', score: 70 });
    if (answer.type === 'result') {
      const failing = answer.checks.find((c) => c.id === 'disk_encryption.system_volume');
      expect(failing).toMatchObject({ status: 'fail', severity: 'critical' });
      expect(failing?.remediation).toMatch(/LUKS/);
    }
    session.close();
  });

  it('refuses a replayed nonce with stale_nonce and keeps the stored state', async () => {
    const { device, session, before } = await reportedDevice();
    const stale = await device.evidence(session.nonce, { nonce: randomBytes(32).toString('base64url') });
    expectError(await session.attest(stale), 'stale_nonce');
    await expectUntouched(device.deviceId, before);
    session.close();
  });

  it('refuses a reused seq with replayed_seq, also across reconnects', async () => {
    const { device, session, before } = await reportedDevice();
    expectError(await session.attest(await device.evidence(session.nonce, { seq: 1 })), 'replayed_seq');
    session.close();
    const again = await device.connect(server.url);
    const answer = await again.attest(await device.evidence(again.nonce, { seq: 1, posture: unencryptedLinuxPosture() }));
    expectError(answer, 'replayed_seq');
    expect((await again.closed).code).toBe(CloseCode.authenticationFailed);
    await expectUntouched(device.deviceId, before);
  });

  it('refuses alg "none" and closes an unauthenticated stream with 4401', async () => {
    const device = await FakeDevice.create();
    await device.enroll(server.url, await server.enrollmentToken());
    const session = await device.connect(server.url);
    const claims = { eat_profile: EVIDENCE_PROFILE, iat: Math.floor(Date.now() / 1000), eat_nonce: session.nonce, ueid: device.ueid, swname: 'postern-agent', swversion: ['0.1.0'], device_id: device.deviceId, seq: 1, posture: healthyLinuxPosture() };
    const unsigned = `${b64({ alg: 'none', typ: 'eat+jwt', kid: device.kid })}.${b64(claims)}.`;
    expectError(await session.attest(unsigned), 'bad_signature');
    expect((await session.closed).code).toBe(CloseCode.authenticationFailed);
    const compliance = await server.compliance(device.deviceId, gatewayKey);
    expect(compliance.body.verdict).toBe('unknown');
  });

  it('refuses HS256 keyed with the device public key', async () => {
    const { device, session, before } = await reportedDevice();
    const publicPem = await exportSPKI((await importJWK(device.publicJwk, 'ES256')) as CryptoKey);
    const claims = { eat_profile: EVIDENCE_PROFILE, iat: Math.floor(Date.now() / 1000), eat_nonce: session.nonce, ueid: device.ueid, swname: 'postern-agent', swversion: ['0.1.0'], device_id: device.deviceId, seq: 99, posture: unencryptedLinuxPosture() };
    for (const secret of [publicPem, JSON.stringify(device.publicJwk)]) {
      const input = `${b64({ alg: 'HS256', typ: 'eat+jwt', kid: device.kid })}.${b64({ ...claims, eat_nonce: session.nonce })}`;
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expectError(await session.attest(forged), 'bad_signature');
    }
    await expectUntouched(device.deviceId, before);
    session.close();
  });

  it("refuses a report signed with another key under the device's kid", async () => {
    const { device, session, before } = await reportedDevice();
    const { privateKey } = await generateKeyPair('ES256');
    expectError(await session.attest(await device.evidence(session.nonce, { signWith: privateKey, posture: unencryptedLinuxPosture() })), 'bad_signature');
    await expectUntouched(device.deviceId, before);
    session.close();
  });

  it('refuses a key no device enrolled with unknown_key', async () => {
    const stranger = await FakeDevice.create();
    stranger.deviceId = '00000000-0000-4000-8000-000000000000';
    const session = await stranger.connect(server.url);
    expectError(await session.attest(await stranger.evidence(session.nonce)), 'unknown_key');
    expect((await session.closed).code).toBe(CloseCode.authenticationFailed);
  });

  it('refuses a report whose iat is far from the server clock with clock_skew', async () => {
    const { device, session, before } = await reportedDevice();
    expectError(await session.attest(await device.evidence(session.nonce, { iat: Math.floor(Date.now() / 1000) - 3600 })), 'clock_skew');
    await expectUntouched(device.deviceId, before);
    session.close();
  });

  it('refuses claims that do not match the protocol with schema', async () => {
    const { device, session, before } = await reportedDevice();
    const { firewall: _dropped, ...withoutFirewall } = healthyLinuxPosture();
    expectError(await session.attest(await device.evidence(session.nonce, { posture: withoutFirewall })), 'schema');
    expectError(await session.attest(await device.evidence(session.nonce, { claims: { swversion: '0.1.0' } })), 'schema');
    await expectUntouched(device.deviceId, before);
    session.close();
  });

  it('closes the stream with 1009 on a frame larger than 64 KiB', async () => {
    const { device, session, before } = await reportedDevice();
    session.sendRaw(JSON.stringify({ type: 'attestation', token: 'a'.repeat(70 * 1024) }));
    expect((await session.closed).code).toBe(CloseCode.frameTooLarge);
    await expectUntouched(device.deviceId, before);
  });

  it('closes the stream with 4400 on malformed JSON or an unknown frame', async () => {
    const device = await FakeDevice.create();
    const s1 = await device.connect(server.url);
    s1.sendRaw('{"type": "attestation", ');
    expect((await s1.closed).code).toBe(CloseCode.malformedFrame);
    const s2 = await device.connect(server.url);
    s2.sendRaw(JSON.stringify({ type: 'hello' }));
    expect((await s2.closed).code).toBe(CloseCode.malformedFrame);
  });

  it('closes a silent connection with 4408', async () => {
    const device = await FakeDevice.create();
    const session = await device.connect(server.url);
    expect((await session.closed).code).toBe(CloseCode.attestationTimeout);
  });

  it('enrolls exactly one device when a single-use token is spent concurrently', async () => {
    const token = await server.enrollmentToken({ uses: 1 });
    const devices = await Promise.all(Array.from({ length: 8 }, () => FakeDevice.create()));
    const results = await Promise.all(devices.map((d) => d.enroll(server.url, token)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.every((r) => r.status === 401 && r.body.code === 'invalid_token' && r.body.type === 'urn:postern:problem:invalid_token')).toBe(true);
  });

  it('refuses a used-up, expired or unknown enrollment token with one message, and a second enrollment of the same key with 409', async () => {
    const token = await server.enrollmentToken();
    const device = await FakeDevice.create();
    expect((await device.enroll(server.url, token)).status).toBe(201);
    const other = await FakeDevice.create();
    const reused = await other.enroll(server.url, token);
    const unknown = await other.enroll(server.url, `pet_${randomBytes(32).toString('hex')}`);
    expect(reused.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(reused.body.detail).toBe(unknown.body.detail);
    expect((await device.enroll(server.url, await server.enrollmentToken())).status).toBe(409);
  });

  it('keeps a device that needs approval pending until an admin approves it', async () => {
    const device = await FakeDevice.create();
    const enrolled = await device.enroll(server.url, await server.enrollmentToken({ approval: true }));
    expect(enrolled.body.status).toBe('pending_approval');
    const { session, answer } = await device.report(server.url);
    expect(answer).toMatchObject({ type: 'result', verdict: 'pending' });
    await server.admin('POST', `/v1/admin/devices/${device.deviceId}/approve`);
    expect(await session.next()).toEqual({ type: 'collect' });
    expect(await session.attest(await device.evidence(session.nonce))).toMatchObject({ type: 'result', verdict: 'compliant' });
    session.close();
  });

  it('closes the live stream of a revoked device with 4403 and refuses its next report', async () => {
    const { device, session } = await reportedDevice();
    await server.admin('POST', `/v1/admin/devices/${device.deviceId}/revoke`);
    expectError(await session.next(), 'revoked');
    expect((await session.closed).code).toBe(CloseCode.revoked);
    const again = await device.connect(server.url);
    expectError(await again.attest(await device.evidence(again.nonce)), 'revoked');
    expect((await again.closed).code).toBe(CloseCode.revoked);
    expect((await server.compliance(device.deviceId, gatewayKey)).body.verdict).toBe('revoked');
  });

  it('counts every refusal by its code', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const code of ['stale_nonce', 'replayed_seq', 'bad_signature', 'unknown_key', 'clock_skew', 'schema', 'revoked']) {
      expect(text).toMatch(new RegExp(`postern_attestations_rejected_total\\{code="${code}"\\} [1-9]`));
    }
    expect(text).toMatch(/postern_stream_closed_total\{close_code="4400"\} [1-9]/);
    expect(text).toMatch(/postern_stream_closed_total\{close_code="4408"\} [1-9]/);
  });
});

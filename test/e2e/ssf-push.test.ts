import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';
import { ReceiverProcess, type ReceivedSet } from '../ssf-receiver/receiver-process.js';
import { CAEP_COMPLIANCE, CAEP_SESSION_REVOKED, PUSH, SSF_VERIFICATION, SsfClient, type StreamConfiguration } from '../ssf-receiver/ssf-client.js';

const AUDIENCE = 'https://idp.example.com/ssf';
const about = (deviceId: string, type: string) => (s: ReceivedSet) => s.claims?.events?.[type] !== undefined && (s.claims.sub_id as { device?: { id?: string } } | undefined)?.device?.id === deviceId;
const seqOf = (s: ReceivedSet) => Number(String(s.claims?.txn).split(':').pop());

describe.each(databaseKinds)('an identity provider subscribed by SSF push, on %s', (kind) => {
  let server: ServerProcess;
  let receiver: ReceiverProcess;
  let ssf: SsfClient;
  let stream: StreamConfiguration;

  beforeAll(async () => {
    server = await ServerProcess.start(kind, { POSTERN_SSF_PUSH_ALLOW_HOSTS: '127.0.0.1', POSTERN_SSF_RETRY_MAX_S: '1', POSTERN_SSF_MAX_ATTEMPTS: '3' });
    const created = await adminCli(server, ['gateway-key', 'create', '--name', 'okta', '--scope', 'ssf', '--json']);
    expect(created.code).toBe(0);
    const { key, scopes } = JSON.parse(created.stdout) as { key: string; scopes: string[] };
    expect(scopes).toEqual(['ssf']);
    receiver = await ReceiverProcess.start({ issuer: server.url, audience: AUDIENCE, pushAuth: 'Bearer receiver-secret' });
    ssf = await SsfClient.discover(server.url, key);
    stream = await ssf.createStream({
      delivery: { method: PUSH, endpoint_url: receiver.pushUrl, authorization_header: 'Bearer receiver-secret' },
      aud: AUDIENCE,
      events_requested: [CAEP_COMPLIANCE, CAEP_SESSION_REVOKED, SSF_VERIFICATION, 'https://schemas.example.com/not-supported'],
      description: 'okta',
    });
  });
  afterAll(async () => {
    await receiver?.stop();
    await server?.stop();
  });

  async function enrolledDevice() {
    const { token } = await server.admin<{ token: string }>('POST', '/v1/admin/enrollment-tokens', { group: 'employees', owner: 'alice@example.com' });
    const device = await FakeDevice.create({ platform: 'linux' });
    await device.enroll(server.url, token);
    return device;
  }
  async function report(device: FakeDevice, failing: Array<'firewall' | 'disk_encryption'> = []) {
    const { session, answer } = await device.report(server.url, fakePosture({ platform: 'linux', failing }));
    session.close();
    expect(answer.type).toBe('result');
  }

  it('publishes its configuration and the stream it made, and verifies the stream with the state asked for', async () => {
    expect(ssf.configuration).toMatchObject({
      spec_version: '1_0',
      issuer: server.url,
      jwks_uri: `${server.url}/ssf/jwks.json`,
      delivery_methods_supported: [PUSH, 'urn:ietf:rfc:8936'],
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
    });
    expect(stream).toMatchObject({ iss: server.url, aud: AUDIENCE, events_delivered: [CAEP_COMPLIANCE, CAEP_SESSION_REVOKED, SSF_VERIFICATION], delivery: { method: PUSH, endpoint_url: receiver.pushUrl } });
    expect(stream.delivery).not.toHaveProperty('authorization_header');
    expect((await ssf.verify(stream.stream_id, 'hello-1')).status).toBe(204);
    const sets = await receiver.waitFor((all) => all.some((s) => s.claims?.events?.[SSF_VERIFICATION]?.state === 'hello-1'));
    const verification = sets.find((s) => s.claims?.events?.[SSF_VERIFICATION]?.state === 'hello-1');
    expect(verification).toMatchObject({ via: 'push', valid: true, header: { alg: 'RS256', typ: 'secevent+jwt' }, claims: { sub_id: { format: 'opaque', id: stream.stream_id } } });
  });

  it('sends a signed device-compliance-change when a device turns its firewall off, naming the failing check', async () => {
    const device = await enrolledDevice();
    await report(device);
    const turnedOff = Date.now();
    await report(device, ['firewall']);
    const sets = await receiver.waitFor((all) => all.some((s) => about(device.deviceId, CAEP_COMPLIANCE)(s) && s.claims?.events?.[CAEP_COMPLIANCE]?.current_status === 'not-compliant'));
    const change = sets.filter(about(device.deviceId, CAEP_COMPLIANCE)).at(-1);
    // A measurement for the log, not a speed test: how long from the report to the receiver's 202.
    console.info(`ssf push (${kind}): device-compliance-change received ${(change?.at ?? NaN) - turnedOff} ms after the report was sent`);
    expect(change?.problems).toEqual([]);
    expect(change).toMatchObject({
      valid: true,
      header: { alg: 'RS256', typ: 'secevent+jwt', kid: expect.any(String) },
      claims: {
        iss: server.url,
        aud: AUDIENCE,
        jti: expect.any(String),
        iat: expect.any(Number),
        txn: expect.stringMatching(/^postern:event:\d+$/),
        sub_id: { format: 'complex', device: { format: 'opaque', id: device.deviceId }, user: { format: 'email', email: 'alice@example.com' } },
        events: {
          [CAEP_COMPLIANCE]: {
            current_status: 'not-compliant',
            previous_status: 'compliant',
            event_timestamp: expect.any(Number),
            initiating_entity: 'system',
            reason_admin: { en: expect.stringContaining('firewall.enabled') },
          },
        },
      },
    });
    expect(change?.claims).not.toHaveProperty('exp');
    expect(change?.claims).not.toHaveProperty('sub');
  });

  it('sends session-revoked, initiated by an admin, when a device is revoked', async () => {
    const device = await enrolledDevice();
    await report(device);
    await server.admin('POST', `/v1/admin/devices/${device.deviceId}/revoke`);
    const sets = await receiver.waitFor((all) => all.some(about(device.deviceId, CAEP_SESSION_REVOKED)));
    const revoked = sets.find(about(device.deviceId, CAEP_SESSION_REVOKED));
    expect(revoked).toMatchObject({ valid: true, claims: { events: { [CAEP_SESSION_REVOKED]: { initiating_entity: 'admin', reason_admin: { en: expect.stringMatching(/revoked by admin:/) } } } } });
    await receiver.waitFor((all) => all.some((s) => about(device.deviceId, CAEP_COMPLIANCE)(s) && s.claims?.events?.[CAEP_COMPLIANCE]?.current_status === 'not-compliant'));
  });

  it('delivers everything, in order, to a receiver that was down for a while, and says so in the stream status meanwhile', async () => {
    const device = await enrolledDevice();
    await report(device);
    await receiver.waitFor((all) => all.some(about(device.deviceId, CAEP_COMPLIANCE)));
    await receiver.restart(async () => {
      for (const failing of [['firewall'], [], ['disk_encryption'], []] as const) await report(device, [...failing]);
      // Three attempts (POSTERN_SSF_MAX_ATTEMPTS) at one second at most apart.
      const deadline = Date.now() + 20_000;
      let status = await ssf.status(stream.stream_id);
      while (status.body.delivery.failing_since === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        status = await ssf.status(stream.stream_id);
      }
      expect(status.body).toMatchObject({ status: 'enabled', delivery: { pending: expect.any(Number), failing_since: expect.any(Number), last_error: expect.stringMatching(/ECONNREFUSED/) } });
      expect(status.body.delivery.pending).toBeGreaterThanOrEqual(4);
    });
    const sets = await receiver.waitFor((all) => all.filter(about(device.deviceId, CAEP_COMPLIANCE)).length >= 5);
    const mine = sets.filter(about(device.deviceId, CAEP_COMPLIANCE));
    expect(mine.every((s) => s.valid)).toBe(true);
    expect(mine.map((s) => s.claims?.events?.[CAEP_COMPLIANCE]?.current_status)).toEqual(['compliant', 'not-compliant', 'compliant', 'not-compliant', 'compliant']);
    const seqs = sets.filter((s) => s.claims?.txn?.startsWith('postern:event:')).map(seqOf);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const healthy = await ssf.status(stream.stream_id);
    expect(healthy.body.delivery).toEqual({ pending: 0, failing_since: null, last_error: null });
  });
});

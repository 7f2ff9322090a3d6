import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';
import { ReceiverProcess, type ReceivedSet } from '../ssf-receiver/receiver-process.js';
import { CAEP_COMPLIANCE, POLL, SSF_VERIFICATION, SsfClient, type StreamConfiguration } from '../ssf-receiver/ssf-client.js';

const AUDIENCE = 'https://idp.example.com/poll';
const deviceOf = (s: ReceivedSet) => (s.claims?.sub_id as { device?: { id?: string } } | undefined)?.device?.id;
const statusOf = (s: ReceivedSet) => s.claims?.events?.[CAEP_COMPLIANCE]?.current_status;

describe.each(databaseKinds)('an identity provider polling SSF (RFC 8936), on %s', (kind) => {
  let server: ServerProcess;
  let receiver: ReceiverProcess;
  let key: string;
  let ssf: SsfClient;
  let stream: StreamConfiguration;

  async function ssfKey(name: string): Promise<string> {
    const created = await adminCli(server, ['gateway-key', 'create', '--name', name, '--scope', 'ssf,authz', '--json']);
    expect(created.code).toBe(0);
    return (JSON.parse(created.stdout) as { key: string }).key;
  }

  beforeAll(async () => {
    server = await ServerProcess.start(kind);
    key = await ssfKey('entra');
    receiver = await ReceiverProcess.start({ issuer: server.url, audience: AUDIENCE });
    ssf = await SsfClient.discover(server.url, key);
    stream = await ssf.createStream({ delivery: { method: POLL }, aud: AUDIENCE });
  });
  afterAll(async () => {
    await receiver?.stop();
    await server?.stop();
  });

  async function device() {
    const { token } = await server.admin<{ token: string }>('POST', '/v1/admin/enrollment-tokens', { group: 'employees', owner: 'bob' });
    const d = await FakeDevice.create({ platform: 'linux' });
    await d.enroll(server.url, token);
    return d;
  }
  async function report(d: FakeDevice, failing: Array<'firewall'> = []) {
    const { session, answer } = await d.report(server.url, fakePosture({ platform: 'linux', failing }));
    session.close();
    expect(answer.type).toBe('result');
  }
  const poll = (request: { maxEvents?: number; returnImmediately?: boolean; ack?: boolean } = {}) => receiver.poll({ url: stream.delivery.endpoint_url ?? '', key, ...request });

  it('gives the poll endpoint, and answers signed SETs that acknowledged ones leave', async () => {
    expect(stream.delivery).toEqual({ method: POLL, endpoint_url: `${server.url}/ssf/poll/${stream.stream_id}` });
    const d = await device();
    await report(d);
    await report(d, ['firewall']);
    let got: ReceivedSet[] = [];
    for (let i = 0; i < 50 && got.filter((s) => deviceOf(s) === d.deviceId).length < 2; i++) {
      got = [...got, ...(await poll()).received];
      await new Promise((r) => setTimeout(r, 200));
    }
    const mine = got.filter((s) => deviceOf(s) === d.deviceId);
    expect(mine.map((s) => s.problems)).toEqual([[], []]);
    expect(mine.map(statusOf)).toEqual(['compliant', 'not-compliant']);
    // An owner that is not an email address is left out of the subject.
    expect(mine[1]?.claims?.sub_id).toEqual({ format: 'complex', device: { format: 'opaque', id: d.deviceId } });
    expect(mine[1]).toMatchObject({ via: 'poll', valid: true, claims: { aud: AUDIENCE, events: { [CAEP_COMPLIANCE]: { reason_admin: { en: expect.stringContaining('firewall.enabled') } } } } });
    expect((await ssf.status(stream.stream_id)).body.delivery.pending).toBe(0);
    expect(await poll()).toEqual({ moreAvailable: false, received: [] });
  });

  it('holds a long poll until a SET is there', async () => {
    const d = await device();
    const waiting = poll({ returnImmediately: false });
    await new Promise((r) => setTimeout(r, 500));
    await report(d);
    const answer = await waiting;
    expect(answer.received.some((s) => deviceOf(s) === d.deviceId && statusOf(s) === 'compliant')).toBe(true);
  });

  it('does not hand a SET out twice while it waits for its acknowledgement, and drops it once acknowledged', async () => {
    expect((await ssf.verify(stream.stream_id, 'unacked')).status).toBe(204);
    const first = await poll({ ack: false });
    expect(first.received.map((s) => s.claims?.events?.[SSF_VERIFICATION]?.state)).toEqual(['unacked']);
    expect((await poll({ ack: false })).received).toEqual([]);
    expect((await ssf.status(stream.stream_id)).body.delivery.pending).toBe(1);
    const ack = await ssf.call('POST', stream.delivery.endpoint_url ?? '', { maxEvents: 0, ack: [first.received[0]?.jti] });
    expect(ack).toMatchObject({ status: 200, body: { sets: {}, moreAvailable: false } });
    expect((await ssf.status(stream.stream_id)).body.delivery.pending).toBe(0);
  });

  it('holds SETs while paused and hands them out once enabled; a disabled stream keeps none', async () => {
    const d = await device();
    expect((await ssf.setStatus(stream.stream_id, 'paused', 'maintenance')).body).toMatchObject({ status: 'paused', reason: 'maintenance' });
    await report(d);
    await expect.poll(async () => (await ssf.status(stream.stream_id)).body.delivery.pending, { timeout: 10_000 }).toBeGreaterThan(0);
    expect((await poll()).received).toEqual([]);
    await ssf.setStatus(stream.stream_id, 'enabled');
    expect((await poll()).received.some((s) => deviceOf(s) === d.deviceId)).toBe(true);

    await ssf.setStatus(stream.stream_id, 'disabled', 'off for now');
    await report(d, ['firewall']);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await ssf.status(stream.stream_id)).body).toMatchObject({ status: 'disabled', reason: 'off for now', delivery: { pending: 0 } });
    expect((await ssf.verify(stream.stream_id, 'x')).status).toBe(409);
    await ssf.setStatus(stream.stream_id, 'enabled');
  });

  it('delivers only about added subjects once one is added, never about removed ones', async () => {
    const [a, b] = [await device(), await device()];
    const narrowed = await ssf.createStream({ delivery: { method: POLL }, aud: AUDIENCE });
    const add = await ssf.call('POST', ssf.configuration.add_subject_endpoint, { stream_id: narrowed.stream_id, subject: { format: 'opaque', id: a.deviceId }, verified: true });
    expect(add.status).toBe(200);
    await report(a);
    await report(b);
    await report(a, ['firewall']);
    const url = narrowed.delivery.endpoint_url ?? '';
    let got: ReceivedSet[] = [];
    for (let i = 0; i < 50 && got.length < 2; i++) {
      got = [...got, ...(await receiver.poll({ url, key })).received];
      if (got.length < 2) await new Promise((r) => setTimeout(r, 200));
    }
    expect(got.map(deviceOf)).toEqual([a.deviceId, a.deviceId]);
    expect((await ssf.call('POST', ssf.configuration.remove_subject_endpoint, { stream_id: narrowed.stream_id, subject: { format: 'opaque', id: a.deviceId } })).status).toBe(204);
    await report(a);
    await report(b, ['firewall']);
    await new Promise((r) => setTimeout(r, 1_500));
    // a is removed; b was never added while the list was narrowed, and the list is now empty: every device but a.
    const after = (await receiver.poll({ url, key })).received;
    expect(after.map(deviceOf)).toEqual([b.deviceId]);
  });

  it('reads, changes, replaces and deletes streams, and shows a receiver only its own', async () => {
    const made = await ssf.createStream({ delivery: { method: POLL }, description: 'to change' });
    expect(made.aud).toBe('entra');
    const one = await ssf.call('GET', `${ssf.configuration.configuration_endpoint}?stream_id=${made.stream_id}`);
    expect(one).toMatchObject({ status: 200, body: { stream_id: made.stream_id, description: 'to change' } });
    const patched = await ssf.call('PATCH', ssf.configuration.configuration_endpoint, { stream_id: made.stream_id, description: 'changed', events_requested: [CAEP_COMPLIANCE] });
    expect(patched).toMatchObject({ status: 200, body: { description: 'changed', aud: 'entra', events_delivered: [CAEP_COMPLIANCE] } });
    const replaced = await ssf.call<Record<string, unknown>>('PUT', ssf.configuration.configuration_endpoint, { ...patched.body, aud: ['a', 'b'], description: undefined });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ aud: ['a', 'b'], events_delivered: [CAEP_COMPLIANCE] });
    expect(replaced.body).not.toHaveProperty('description');

    const other = await SsfClient.discover(server.url, await ssfKey('someone-else'));
    expect((await other.call('GET', `${ssf.configuration.configuration_endpoint}?stream_id=${made.stream_id}`)).status).toBe(404);
    expect((await other.call('GET', ssf.configuration.configuration_endpoint)).body).toEqual([]);
    expect((await other.call('POST', `${server.url}/ssf/poll/${stream.stream_id}`, {})).status).toBe(404);
    expect((await other.call('DELETE', `${ssf.configuration.configuration_endpoint}?stream_id=${made.stream_id}`)).status).toBe(404);

    const all = await ssf.call<Array<{ stream_id: string }>>('GET', ssf.configuration.configuration_endpoint);
    expect(all.body.map((s) => s.stream_id)).toContain(made.stream_id);
    expect((await ssf.call('DELETE', `${ssf.configuration.configuration_endpoint}?stream_id=${made.stream_id}`)).status).toBe(204);
    expect((await ssf.call('GET', `${ssf.configuration.configuration_endpoint}?stream_id=${made.stream_id}`)).status).toBe(404);
  });
});

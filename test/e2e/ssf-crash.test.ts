import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';
import { ReceiverProcess, type ReceivedSet } from '../ssf-receiver/receiver-process.js';
import { CAEP_COMPLIANCE, PUSH, SsfClient, type StreamConfiguration } from '../ssf-receiver/ssf-client.js';

const AUDIENCE = 'https://idp.example.com/crash';
const deviceOf = (s: ReceivedSet) => (s.claims?.sub_id as { device?: { id?: string } } | undefined)?.device?.id;

describe.each(databaseKinds)('SSF push across a backend killed mid-delivery, on %s', (kind) => {
  let server: ServerProcess;
  let receiver: ReceiverProcess;
  let ssf: SsfClient;
  let stream: StreamConfiguration;

  beforeAll(async () => {
    server = await ServerProcess.start(kind, { POSTERN_SSF_PUSH_ALLOW_HOSTS: '127.0.0.1', POSTERN_SSF_RETRY_MAX_S: '1' });
    const created = await adminCli(server, ['gateway-key', 'create', '--name', 'okta', '--scope', 'ssf', '--json']);
    receiver = await ReceiverProcess.start({ issuer: server.url, audience: AUDIENCE });
    ssf = await SsfClient.discover(server.url, (JSON.parse(created.stdout) as { key: string }).key);
    stream = await ssf.createStream({ delivery: { method: PUSH, endpoint_url: receiver.pushUrl }, aud: AUDIENCE });
  });
  afterAll(async () => {
    await receiver?.stop();
    await server?.stop();
  });

  it('loses no SET, keeps each one’s jti on redelivery, and keeps the order', { timeout: 120_000 }, async () => {
    const { token } = await server.admin<{ token: string }>('POST', '/v1/admin/enrollment-tokens', { group: 'employees', uses: 1 });
    const device = await FakeDevice.create({ platform: 'linux' });
    await device.enroll(server.url, token);
    // The receiver takes 3 s to answer each push: the backend dies while one is in flight.
    await receiver.setPushMode('slow');
    const flips: Array<Array<'firewall'>> = [[], ['firewall'], [], ['firewall'], []];
    for (const failing of flips) {
      const { session, answer } = await device.report(server.url, fakePosture({ platform: 'linux', failing }));
      session.close();
      expect(answer.type).toBe('result');
    }
    await receiver.waitFor((sets) => sets.some((s) => deviceOf(s) === device.deviceId));
    server.child.kill('SIGKILL');
    await server.restart(() => receiver.setPushMode('accept'));

    const sets = await receiver.waitFor((all) => new Set(all.filter((s) => deviceOf(s) === device.deviceId).map((s) => s.claims?.txn)).size >= flips.length, 60_000);
    const mine = sets.filter((s) => deviceOf(s) === device.deviceId);
    expect(mine.every((s) => s.valid)).toBe(true);
    // Every change arrived; one that arrived twice (the push cut short by the kill) carries one jti.
    const byTxn = new Map<string, Set<string>>();
    for (const s of mine) byTxn.set(String(s.claims?.txn), (byTxn.get(String(s.claims?.txn)) ?? new Set()).add(String(s.jti)));
    expect([...byTxn.values()].map((jtis) => jtis.size)).toEqual(flips.map(() => 1));
    expect(mine.length).toBeGreaterThan(flips.length); // the one in flight was sent again
    const firstArrivals = [...byTxn.keys()];
    const statuses = firstArrivals.map((txn) => mine.find((s) => s.claims?.txn === txn)?.claims?.events?.[CAEP_COMPLIANCE]?.current_status);
    expect(statuses).toEqual(['compliant', 'not-compliant', 'compliant', 'not-compliant', 'compliant']);
    const seqs = firstArrivals.map((txn) => Number(txn.split(':').pop()));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await expect.poll(async () => (await ssf.status(stream.stream_id)).body.delivery.pending, { timeout: 10_000 }).toBe(0);
  });
});

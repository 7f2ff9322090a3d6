import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';
import { ReceiverProcess } from '../ssf-receiver/receiver-process.js';
import { CAEP_COMPLIANCE, PUSH, SsfClient } from '../ssf-receiver/ssf-client.js';

/** Two `postern-server` processes on one PostgreSQL, one public URL: both make and push SETs, and the receiver sees each once, in order. */
describe('SSF push from two replicas on postgresql', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let receiver: ReceiverProcess;
  let ssf: SsfClient;

  beforeAll(async () => {
    const env = { POSTERN_SSF_PUSH_ALLOW_HOSTS: '127.0.0.1', POSTERN_SSF_RETRY_MAX_S: '1' };
    a = await ServerProcess.start('postgresql', env);
    // Behind one load balancer both replicas are one issuer: here, A's URL.
    b = await a.replica({ ...env, POSTERN_PUBLIC_URL: a.url });
    const { key } = await a.admin<{ key: string }>('POST', '/v1/admin/gateway-keys', { name: 'okta', scopes: ['ssf'] });
    receiver = await ReceiverProcess.start({ issuer: a.url, audience: 'okta' });
    ssf = await SsfClient.discover(b.url, key);
    await ssf.createStream({ delivery: { method: PUSH, endpoint_url: receiver.pushUrl } });
  });
  afterAll(async () => {
    await receiver?.stop();
    await b?.stop();
    await a?.stop();
  });

  it('delivers every change once and in stream order, whichever replica recorded or pushed it', { timeout: 90_000 }, async () => {
    const devices = await Promise.all(
      [0, 1, 2].map(async () => {
        const device = await FakeDevice.create({ platform: 'linux' });
        await device.enroll(a.url, await a.enrollmentToken());
        return device;
      }),
    );
    const rounds: Array<Array<'firewall'>> = [[], ['firewall'], [], ['firewall']];
    await Promise.all(
      devices.map(async (device, i) => {
        for (const [round, failing] of rounds.entries()) {
          const { session, answer } = await device.report((round + i) % 2 === 0 ? a.url : b.url, fakePosture({ platform: 'linux', failing }));
          session.close();
          expect(answer.type).toBe('result');
        }
      }),
    );
    const expected = devices.length * rounds.length;
    const sets = await receiver.waitFor((all) => all.filter((s) => s.claims?.events?.[CAEP_COMPLIANCE]).length >= expected, 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const changes = (await receiver.received()).filter((s) => s.claims?.events?.[CAEP_COMPLIANCE]);
    expect(sets.length).toBeGreaterThanOrEqual(expected);
    expect(changes.every((s) => s.valid && s.claims?.iss === a.url)).toBe(true);
    const txns = changes.map((s) => String(s.claims?.txn));
    expect(new Set(txns).size).toBe(expected);
    expect(txns.length).toBe(expected);
    const seqs = txns.map((t) => Number(t.split(':').pop()));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });
});

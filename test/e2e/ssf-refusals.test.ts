import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { ServerProcess } from '@postern/testkit/server-process';
import { PUSH, SsfClient } from '../ssf-receiver/ssf-client.js';

describe.each(databaseKinds)('what the SSF transmitter refuses, on %s', (kind) => {
  let server: ServerProcess;
  let ssf: SsfClient;

  beforeAll(async () => {
    // No POSTERN_SSF_PUSH_ALLOW_HOSTS: only public addresses may receive pushes.
    server = await ServerProcess.start(kind, { POSTERN_SSF_RETRY_MAX_S: '1', POSTERN_SSF_MAX_ATTEMPTS: '2' });
    const created = await adminCli(server, ['gateway-key', 'create', '--name', 'okta', '--scope', 'ssf', '--json']);
    ssf = await SsfClient.discover(server.url, (JSON.parse(created.stdout) as { key: string }).key);
  });
  afterAll(() => server?.stop());

  it('answers 403 insufficient_scope to a gateway key without the ssf scope, and 401 without a key', async () => {
    const plain = await server.gatewayKey();
    const forbidden = await fetch(`${server.url}/ssf/streams`, { headers: { authorization: `Bearer ${plain}` } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(forbidden.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="ssf"');
    expect(await forbidden.json()).toMatchObject({ type: 'urn:postern:problem:insufficient_scope', status: 403, code: 'insufficient_scope', detail: expect.stringMatching(/--scope ssf/) });
    const anonymous = await fetch(`${server.url}/ssf/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'unauthorized' });
    // A key made without --scope keeps what keys could always do: the compliance API.
    const device = await FakeDevice.create();
    await device.enroll(server.url, await server.enrollmentToken());
    expect((await server.compliance(device.deviceId, plain)).status).toBe(200);
    // And a key made for Shared Signals only may not ask the compliance API.
    const ssfOnly = JSON.parse((await adminCli(server, ['gateway-key', 'create', '--name', 'idp-only', '--scope', 'ssf', '--json'])).stdout) as { key: string };
    const refused = await fetch(`${server.url}/v1/devices/${device.deviceId}/compliance`, { headers: { authorization: `Bearer ${ssfOnly.key}` } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="authz"');
    expect(await refused.json()).toMatchObject({ code: 'insufficient_scope', detail: expect.stringMatching(/--scope authz/) });
  });

  it('refuses an unknown scope on the command line as a usage error', async () => {
    const bad = await adminCli(server, ['gateway-key', 'create', '--name', 'x', '--scope', 'ssf,admin']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"admin" is not a scope: use authz, ssf/);
  });

  it('refuses plain http to a host the allow list does not name, and a push endpoint with a user name', async () => {
    const http = await ssf.call('POST', ssf.configuration.configuration_endpoint, { delivery: { method: PUSH, endpoint_url: 'http://127.0.0.1:9/push' } });
    expect(http).toMatchObject({ status: 400, body: { code: 'malformed', detail: expect.stringMatching(/must be https/) } });
    const userinfo = await ssf.call('POST', ssf.configuration.configuration_endpoint, { delivery: { method: PUSH, endpoint_url: 'https://user:pw@idp.example.com/push' } });
    expect(userinfo).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/user name or password/) } });
    const none = await ssf.call('POST', ssf.configuration.configuration_endpoint, { delivery: { method: PUSH } });
    expect(none).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/needs delivery.endpoint_url/) } });
  });

  it.each([
    ['a loopback address', 'https://127.0.0.1:9/push', /127\.0\.0\.1 is a loopback address/],
    ['an IPv6 loopback address', 'https://[::1]:9/push', /::1 is a loopback address/],
    ['the cloud metadata address', 'https://169.254.169.254/latest', /169\.254\.169\.254 is a link-local/],
    ['a name that resolves to loopback', 'https://localhost:9/push', /refused to push to localhost: .* loopback/],
  ])('never pushes to %s, and says why in the stream status', async (_name, endpoint, why) => {
    const stream = await ssf.createStream({ delivery: { method: PUSH, endpoint_url: endpoint } });
    expect((await ssf.verify(stream.stream_id, 'x')).status).toBe(204);
    await expect
      .poll(async () => (await ssf.status(stream.stream_id)).body.delivery.last_error, { timeout: 10_000 })
      .toMatch(why);
    await expect.poll(async () => (await ssf.status(stream.stream_id)).body.delivery.failing_since, { timeout: 10_000 }).toEqual(expect.any(Number));
    expect((await ssf.status(stream.stream_id)).body.delivery.pending).toBe(1);
    await ssf.call('DELETE', `${ssf.configuration.configuration_endpoint}?stream_id=${stream.stream_id}`);
  });

  it('refuses verification events more often than the stream asks, with Retry-After', async () => {
    const stream = await ssf.createStream({ delivery: { method: 'urn:ietf:rfc:8936' }, min_verification_interval: 3600 });
    expect((await ssf.verify(stream.stream_id, 'one')).status).toBe(204);
    const again = await ssf.verify(stream.stream_id, 'two');
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect(again.body).toMatchObject({ code: 'rate_limited' });
  });
});

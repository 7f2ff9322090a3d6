import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '@postern/agent';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { unencryptedLinuxPosture, windowsPostureWithPublicFirewallOff } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';

describe.each(databaseKinds)('gateways asking the backend on %s', (kind) => {
  let server: ServerProcess;
  let gatewayKey: string;
  let authz: string;

  beforeAll(async () => {
    // Behind a trusted Traefik: its X-Forwarded-* headers name the original request.
    server = await ServerProcess.start(kind, { POSTERN_TRUST_PROXY: '1', POSTERN_GATEWAY: 'traefik' });
    gatewayKey = await server.gatewayKey();
    authz = `${server.url}/v1/authz`;
  });
  afterAll(() => server?.stop());

  async function deviceWithResult(posture?: Parameters<FakeDevice['report']>[1]) {
    // A report is trusted only from the platform the device enrolled as.
    const device = await FakeDevice.create(posture?.os.status === 'ok' ? { platform: posture.os.platform } : {});
    await device.enroll(server.url, await server.enrollmentToken());
    const { session, answer } = await device.report(server.url, posture);
    session.close();
    if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
    return { device, token: answer.token };
  }

  const ask = (headers: Record<string, string>) => fetch(authz, { headers });

  it('allows a compliant device presenting its result token with a DPoP proof, and names it in headers', async () => {
    const { device, token } = await deviceWithResult();
    const response = await ask({ authorization: `DPoP ${token}`, dpop: await device.dpopProof(authz, token) });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-postern-device')).toBe(device.deviceId);
    expect(response.headers.get('x-postern-verdict')).toBe('compliant');
    expect(response.headers.get('x-postern-score')).toBe('100');
  });

  it('checks the proof against the original request a gateway forwards', async () => {
    const { device, token } = await deviceWithResult();
    const original = 'https://app.example.com/reports/q3?page=2';
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/reports/q3?page=2', 'x-forwarded-method': 'POST' };
    const ok = await ask({ ...headers, authorization: `DPoP ${token}`, dpop: await device.dpopProof(original, token, { method: 'POST' }) });
    expect(ok.status).toBe(200);
    const wrongMethod = await ask({ ...headers, authorization: `DPoP ${token}`, dpop: await device.dpopProof(original, token, { method: 'GET' }) });
    expect(wrongMethod.status).toBe(401);
    const wrongUrl = await ask({ ...headers, authorization: `DPoP ${token}`, dpop: await device.dpopProof('https://evil.example.com/reports/q3', token, { method: 'POST' }) });
    expect(wrongUrl.status).toBe(401);
  });

  it('refuses a DPoP proof used twice', async () => {
    const { device, token } = await deviceWithResult();
    const proof = await device.dpopProof(authz, token);
    expect((await ask({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    const replay = await ask({ authorization: `DPoP ${token}`, dpop: proof });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(replay.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof", error_description="[^"]*already used[^"]*", algs="ES256"$/);
    expect(await replay.json()).toMatchObject({ type: 'urn:postern:problem:invalid_dpop_proof', title: 'Invalid DPoP proof', status: 401, code: 'invalid_dpop_proof', detail: expect.stringMatching(/already used/) });
  });

  it('refuses proofs that are stale, for another token, or signed by another key', async () => {
    const { device, token } = await deviceWithResult();
    const other = await deviceWithResult();
    const stale = await device.dpopProof(authz, token, { iat: Math.floor(Date.now() / 1000) - 600 });
    expect((await ask({ authorization: `DPoP ${token}`, dpop: stale })).status).toBe(401);
    const forOtherToken = await device.dpopProof(authz, other.token);
    expect((await ask({ authorization: `DPoP ${token}`, dpop: forOtherToken })).status).toBe(401);
    // A thief holding the token but not the device key signs with its own key.
    const thiefProof = await other.device.dpopProof(authz, token);
    expect((await ask({ authorization: `DPoP ${token}`, dpop: thiefProof })).status).toBe(401);
  });

  it('refuses missing credentials, a bearer token without proof, and a result token signed by anyone but the server', async () => {
    const { device, token } = await deviceWithResult();
    const missing = await ask({});
    expect(missing.status).toBe(401);
    // No credentials presented: a bare challenge, without an error (RFC 6750 §3.1, RFC 9449 §7.1).
    expect(missing.headers.get('www-authenticate')).toBe('DPoP algs="ES256"');
    expect(await missing.json()).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((await ask({ authorization: `Bearer ${token}` })).status).toBe(401);
    const noProof = await ask({ authorization: `DPoP ${token}` });
    expect(noProof.status).toBe(401);
    expect(noProof.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof", /);
    const [header, payload] = token.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const refused = await ask({ authorization: `DPoP ${unsigned}`, dpop: await device.dpopProof(authz, unsigned) });
    expect(refused.status).toBe(401);
    expect(parseChallenge(refused.headers.get('www-authenticate'))).toEqual({ scheme: 'DPoP', params: { error: 'invalid_token', error_description: expect.any(String), algs: 'ES256' } });
    expect(await refused.json()).toMatchObject({ code: 'invalid_token', type: 'urn:postern:problem:invalid_token' });
    const selfSigned = await new SignJWT(JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>)
      .setProtectedHeader(JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as { alg: string })
      .sign(device.privateKey);
    expect((await ask({ authorization: `DPoP ${selfSigned}`, dpop: await device.dpopProof(authz, selfSigned) })).status).toBe(401);
  });

  it('denies a noncompliant device with 403 naming the failing checks and their remediation', async () => {
    const { device, token } = await deviceWithResult(unencryptedLinuxPosture());
    const response = await ask({ authorization: `DPoP ${token}`, dpop: await device.dpopProof(authz, token) });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-postern-verdict')).toBe('noncompliant');
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as { failing: Array<{ id: string; remediation: string }> };
    expect(body).toMatchObject({ type: 'urn:postern:problem:not_compliant', status: 403, code: 'not_compliant', verdict: 'noncompliant', device_id: device.deviceId, detail: expect.stringMatching(/noncompliant/) });
    expect(body.failing).toEqual([expect.objectContaining({ id: 'disk_encryption.system_volume', remediation: expect.stringMatching(/LUKS/) })]);
  });

  it('reports a Windows profile with the firewall off as failing', async () => {
    const { device, token } = await deviceWithResult(windowsPostureWithPublicFirewallOff());
    const response = await ask({ authorization: `DPoP ${token}`, dpop: await device.dpopProof(authz, token) });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { failing: Array<{ id: string; message: string; remediation: string }> };
    expect(body.failing[0]).toMatchObject({ id: 'firewall.enabled', message: expect.stringMatching(/Public/), remediation: expect.stringMatching(/Set-NetFirewallProfile/) });
  });

  it('denies a revoked device at once, though its result token has not expired', async () => {
    const { device, token } = await deviceWithResult();
    await server.admin('POST', `/v1/admin/devices/${device.deviceId}/revoke`);
    const response = await ask({ authorization: `DPoP ${token}`, dpop: await device.dpopProof(authz, token) });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-postern-verdict')).toBe('revoked');
  });

  it('answers the compliance API only to gateways with a key', async () => {
    const { device } = await deviceWithResult();
    const keyless = await fetch(`${server.url}/v1/devices/${device.deviceId}/compliance`);
    expect(keyless.status).toBe(401);
    // RFC 6750 §3: no credentials, a bare challenge; a key that is not one, invalid_token.
    expect(parseChallenge(keyless.headers.get('www-authenticate'))).toEqual({ scheme: 'Bearer', params: {} });
    const forged = `pgk_${randomUUID().replaceAll('-', '')}_${'0'.repeat(64)}`;
    const wrongKey = await fetch(`${server.url}/v1/devices/${device.deviceId}/compliance`, { headers: { authorization: `Bearer ${forged}` } });
    expect(wrongKey.status).toBe(401);
    expect(parseChallenge(wrongKey.headers.get('www-authenticate'))).toEqual({ scheme: 'Bearer', params: { error: 'invalid_token', error_description: expect.any(String) } });
    const ok = await server.compliance(device.deviceId, gatewayKey);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ device_id: device.deviceId, verdict: 'compliant', score: 100, policy: 'default@1' });
    expect(typeof ok.body.expires_at).toBe('number');
    expect((await server.compliance(randomUUID(), gatewayKey)).status).toBe(404);
  });

  it('publishes the keys that verify result tokens offline', async () => {
    const { token } = await deviceWithResult();
    const { createRemoteJWKSet, jwtVerify } = await import('jose');
    const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { algorithms: ['ES256'], issuer: server.url });
    expect(protectedHeader.alg).toBe('ES256');
    expect(protectedHeader.typ).toBe('JWT');
    expect(payload).toMatchObject({ eat_profile: 'tag:github.com,2023:veraison/ear', submods: { device: { 'ear.status': 'affirming', 'ear.appraisal-policy-id': 'default@1' } }, postern: { verdict: 'compliant', score: 100, group: 'employees' } });
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: protectedHeader.kid ?? '' }).sign(privateKey);
    await expect(jwtVerify(foreign, jwks, { algorithms: ['ES256'] })).rejects.toThrow();
  });
});

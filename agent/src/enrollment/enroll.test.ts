import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, EmbeddedJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnrollmentError } from '../errors.js';
import { rejectionOf } from '../testenv/rejection.js';
import { FileKeyStore } from '../keystore/file-key-store.js';
import type { LastResult } from '../state/files.js';
import { StateFile } from '../state/paths.js';
import { StateStore } from '../state/store.js';
import { hashMachineId } from './device-facts.js';
import { enroll, type EnrollOptions } from './enroll.js';

const TOKEN = 'pet_secret_0123456789abcdef';
const DEVICE_ID = '0b6f1c2e-8a1d-4c3b-9e7f-2a5d6c8b9e01';
const lastResult: LastResult = { version: 1, seq: 3, verdict: 'compliant', score: 100, checks: [], token: 'aaa.bbb.ccc', received_at: 1_700_000_000 };

function answer(status: number, body: unknown, headers: Record<string, string> = {}): typeof fetch {
  return async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

describe('enroll', () => {
  let dir: string;
  let base: Omit<EnrollOptions, 'fetch'>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-enroll-'));
    base = {
      server: 'http://127.0.0.1:9/',
      enrollmentToken: TOKEN,
      store: new StateStore(dir),
      keyStore: new FileKeyStore(dir),
      facts: { machine_id: hashMachineId('m'), hostname: 'host', platform: 'linux' },
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('posts {request} to /v1/enroll and saves device.json on 201', async () => {
    let seen: { url: string; body: { request: string } } | undefined;
    const fetchSpy: typeof fetch = async (url, init) => {
      seen = { url: String(url), body: JSON.parse(String(init?.body)) };
      return new Response(JSON.stringify({ device_id: DEVICE_ID, status: 'pending_approval', expires_at: null, report_interval_s: 120 }), { status: 201 });
    };
    const device = await enroll({ ...base, fetch: fetchSpy });

    expect(seen?.url).toBe('http://127.0.0.1:9/v1/enroll');
    const { payload } = await compactVerify(seen!.body.request, EmbeddedJWK, { algorithms: ['ES256'] });
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(claims.ueid).toBe(device.ueid);

    const key = await base.keyStore.load();
    expect(await base.store.readDevice()).toEqual(device);
    expect(device).toMatchObject({ device_id: DEVICE_ID, server: 'http://127.0.0.1:9', kid: key?.kid, status: 'pending_approval', report_interval_s: 120, last_seq: 0 });
  });

  it('explains a 401 as an unknown, expired or used-up token, and never repeats the token', async () => {
    const err = await rejectionOf(enroll({ ...base, fetch: answer(401, { error: { code: 'invalid_token', message: 'no' } }) }));
    expect(err.message).toBe('the enrollment token is unknown, expired or used up: ask your administrator for a new one');
    expect(err.message).not.toContain(TOKEN);
    expect(await base.store.readDevice()).toBeNull();
  });

  const problem = (status: number, code: string, detail: string) => ({ type: `urn:postern:problem:${code}`, title: code, status, detail, code });

  it.each([
    [400, 'malformed', 'malformed_request'],
    [400, 'clock_skew', 'clock_skew'],
    [401, 'invalid_token', 'token_rejected'],
    [409, 'already_enrolled', 'already_enrolled'],
    [429, 'rate_limited', 'rate_limited'],
    [503, 'database_unavailable', 'server_error'],
  ])('turns a problem details answer (HTTP %i, code %s) into the error %s', async (status, serverCode, code) => {
    await expect(enroll({ ...base, fetch: answer(status, problem(status, serverCode, 'said so'), { 'retry-after': '30' }) })).rejects.toMatchObject({ code });
  });

  it("says the server's sentence from problem details, and its Retry-After", async () => {
    const malformed = await rejectionOf(enroll({ ...base, fetch: answer(400, problem(400, 'malformed', 'claims.hostname: required')) }));
    expect(malformed.message).toBe('the server refused the enrollment request as malformed (claims.hostname: required): check that the agent and server versions match');
    const limited = await rejectionOf(enroll({ ...base, fetch: answer(429, problem(429, 'rate_limited', 'slow down'), { 'retry-after': '30' }) }));
    expect(limited.message).toBe('too many enrollment attempts: wait 30 seconds and try again');
  });

  it('still reads the legacy {error:{code,message}} body of servers not yet upgraded', async () => {
    await expect(enroll({ ...base, fetch: answer(409, { error: { code: 'already_enrolled', message: 'known key' } }) })).rejects.toMatchObject({ code: 'already_enrolled' });
  });

  it('decides by the code, not the status: a proxy\'s 409 or 401 page is neither a known key nor a bad token', async () => {
    const page = (status: number): typeof fetch => async () => new Response('<html>denied</html>', { status, headers: { 'content-type': 'text/html' } });
    for (const [status, code] of [[401, 'bad_response'], [409, 'not_postern']] as const) {
      const err = await rejectionOf(enroll({ ...base, fetch: page(status) }));
      expect(err).toMatchObject({ code });
      expect(err.message).toMatch(new RegExp(`answered HTTP ${status} \\(text/html\\) without a Postern error body`));
    }
    expect(await base.store.readDevice()).toBeNull();
  });

  it('refuses http:// to another machine before connecting, and makes no key', async () => {
    let calls = 0;
    const spy: typeof fetch = async () => {
      calls++;
      return new Response('{}', { status: 201 });
    };
    const err = await rejectionOf(enroll({ ...base, server: 'http://192.0.2.1', fetch: spy }));
    expect(err).toMatchObject({ code: 'insecure_server', message: expect.stringMatching(/enrollment token and every report cross the network in clear text.*use https:\/\//) });
    expect(calls).toBe(0);
    expect(await base.keyStore.load()).toBeNull();
  });

  it('saves the --ca file, as an absolute path, for run to use', async () => {
    const caFile = join(dir, 'ca.pem');
    const { rootCertificates } = await import('node:tls');
    await writeFile(caFile, rootCertificates[0] ?? '');
    const ok = answer(201, { device_id: DEVICE_ID, status: 'active', expires_at: null, report_interval_s: 300 });
    expect(await enroll({ ...base, fetch: ok, caFile })).toMatchObject({ ca_file: caFile });
    expect(await base.store.readDevice()).toMatchObject({ ca_file: caFile });
  });

  it('says the URL is not a Postern server when a web server answers 404, without "try again"', async () => {
    const web: typeof fetch = async () => new Response('<h1>Not Found</h1>', { status: 404, headers: { 'content-type': 'text/html' } });
    const err = await rejectionOf(enroll({ ...base, fetch: web }));
    expect(err).toMatchObject({ code: 'not_postern', message: expect.stringMatching(/^http:\/\/127\.0\.0\.1:9 is not a Postern server: POST http:\/\/127\.0\.0\.1:9\/v1\/enroll answered HTTP 404 \(text\/html\)/) });
    expect(err.message).not.toMatch(/try again/);
  });

  it('refuses a 201 whose body does not match the protocol', async () => {
    await expect(enroll({ ...base, fetch: answer(201, { device_id: 'x' }) })).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('says the server is unreachable when the connection fails', async () => {
    const failing: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    };
    await expect(enroll({ ...base, fetch: failing })).rejects.toThrow(/could not reach http:\/\/127\.0\.0\.1:9 \(.*ECONNREFUSED/);
  });

  it('refuses to enroll again unless forced, and with --force makes a new key', async () => {
    const ok = answer(201, { device_id: DEVICE_ID, status: 'active', expires_at: null, report_interval_s: 300 });
    const first = await enroll({ ...base, fetch: ok });
    await expect(enroll({ ...base, fetch: ok })).rejects.toMatchObject({ code: 'already_enrolled' });
    const second = await enroll({ ...base, fetch: ok, force: true });
    expect(second.kid).not.toBe(first.kid);
    expect(second.ueid).not.toBe(first.ueid);
  });

  it('a refused --force enrollment keeps the old enrollment and key', async () => {
    const ok = answer(201, { device_id: DEVICE_ID, status: 'active', expires_at: null, report_interval_s: 300 });
    const first = await enroll({ ...base, fetch: ok });
    const keyBefore = await readFile(join(dir, StateFile.deviceKey), 'utf8');
    await base.store.writeLastResult(lastResult);
    const unreachable: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    };

    for (const refused of [answer(401, { error: { code: 'invalid_token', message: 'no' } }), answer(429, {}), unreachable]) {
      await expect(enroll({ ...base, fetch: refused, force: true })).rejects.toBeInstanceOf(EnrollmentError);
      expect(await base.store.readDevice()).toEqual(first);
      expect(await readFile(join(dir, StateFile.deviceKey), 'utf8')).toBe(keyBefore);
      expect((await base.keyStore.load())?.kid).toBe(first.kid);
      expect(await base.store.readLastResult()).toEqual(lastResult);
    }
  });

  it('an accepted --force enrollment replaces the key and device.json and forgets the last result', async () => {
    const ok = answer(201, { device_id: DEVICE_ID, status: 'active', expires_at: null, report_interval_s: 300 });
    await enroll({ ...base, fetch: ok });
    await base.store.writeLastResult(lastResult);
    const second = await enroll({ ...base, fetch: ok, force: true });
    expect(await base.store.readDevice()).toEqual(second);
    expect((await base.keyStore.load())?.kid).toBe(second.kid);
    expect(await base.store.readLastResult()).toBeNull();
  });
});

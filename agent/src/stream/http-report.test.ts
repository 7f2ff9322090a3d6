import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evidenceClaims } from '@postern/shared';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../log.js';
import { FakeCollector } from '../testenv/fake-collector.js';
import { fakeEnrollment } from '../testenv/fake-enrollment.js';
import { rejectionOf } from '../testenv/rejection.js';
import { Backoff } from './backoff.js';
import { reportOnceOverHttp, type HttpReportOptions } from './http-report.js';
import { LATER_ATTEMPTS } from './report-protocol.js';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const problem = (status: number, code: string, detail: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: `urn:postern:problem:${code}`, title: code, status, detail, code }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
const issueNonce = () => json(200, { nonce: randomBytes(32).toString('base64url'), server_time: 0 });
const accepted = (seq: number) => json(200, { seq, verdict: 'compliant', score: 100, checks: [], token: 'a.b.c', nonce: randomBytes(32).toString('base64url') });

describe('reportOnceOverHttp', () => {
  let dir: string;
  let options: Omit<HttpReportOptions, 'fetch'>;
  /** The pauses the transport took between attempts. */
  let waits: number[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-http-'));
    const { store, keyStore } = await fakeEnrollment(dir, { server: 'https://postern.test' });
    waits = [];
    options = { store, keyStore, collector: new FakeCollector(), log: memoryLogger(), backoff: new Backoff({ baseMs: 100, capMs: 100, random: () => 0.5 }), sleep: async (ms) => waits.push(ms) };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('signs over the nonce from GET /v1/nonce and saves the result of POST /v1/attestations', async () => {
    const nonce = randomBytes(32).toString('base64url');
    const calls: string[] = [];
    let evidence: unknown;
    const fetchFake: typeof fetch = async (url, init) => {
      calls.push(`${init?.method ?? 'GET'} ${String(url)}`);
      if (String(url).endsWith('/v1/nonce')) return json(200, { nonce, server_time: Math.floor(Date.now() / 1000) });
      evidence = evidenceClaims.parse(decodeJwt(JSON.parse(String(init?.body)).token));
      return json(200, { seq: 1, verdict: 'compliant', score: 100, checks: [], token: 'a.b.c', nonce: randomBytes(32).toString('base64url') });
    };
    const outcome = await reportOnceOverHttp({ ...options, fetch: fetchFake });

    expect(calls).toEqual(['GET https://postern.test/v1/nonce', 'POST https://postern.test/v1/attestations']);
    expect(evidence).toMatchObject({ eat_nonce: nonce, seq: 1 });
    expect(outcome).toMatchObject({ accepted: true, result: { type: 'result', verdict: 'compliant' } });
    expect(await options.store.readLastResult()).toMatchObject({ seq: 1, verdict: 'compliant', token: 'a.b.c' });
  });

  it('returns a refusal with the server\'s code, and stops on revoked', async () => {
    const refusing = (code: string, status: number): typeof fetch => async (url) =>
      String(url).endsWith('/v1/nonce')
        ? json(200, { nonce: randomBytes(32).toString('base64url'), server_time: 0 })
        : json(status, { error: { code, message: `said ${code}` } });

    expect(await reportOnceOverHttp({ ...options, fetch: refusing('clock_skew', 400) })).toMatchObject({ accepted: false, refused: { code: 'clock_skew' } });
    expect(await rejectionOf(reportOnceOverHttp({ ...options, fetch: refusing('revoked', 403) }))).toMatchObject({ code: 'revoked' });
  });

  it('marks device.json revoked when the server says revoked', async () => {
    const revoking: typeof fetch = async (url) =>
      String(url).endsWith('/v1/nonce')
        ? json(200, { nonce: randomBytes(32).toString('base64url'), server_time: 0 })
        : json(403, { error: { code: 'revoked', message: 'this device has been revoked' } });
    await expect(reportOnceOverHttp({ ...options, fetch: revoking })).rejects.toMatchObject({ code: 'revoked' });
    expect(await options.store.readDevice()).toMatchObject({ status: 'revoked' });
  });

  it('reports a 403 without the server\'s "revoked" code as an HTTP failure, not as revoked', async () => {
    const proxy = (status: number, body: string): typeof fetch => async (url) =>
      String(url).endsWith('/v1/nonce')
        ? json(200, { nonce: randomBytes(32).toString('base64url'), server_time: 0 })
        : new Response(body, { status, headers: { 'content-type': 'text/html' } });

    const outcome = await reportOnceOverHttp({ ...options, fetch: proxy(403, '<html>Forbidden by policy</html>') });
    expect(outcome).toEqual({
      accepted: false,
      failure: 'POST https://postern.test/v1/attestations answered HTTP 403 (text/html) without a Postern error body: a proxy or firewall between this device and the server refused the request; check its rules for https://postern.test',
    });
    expect(await options.store.readDevice()).toMatchObject({ status: 'active' });
    expect(await reportOnceOverHttp({ ...options, fetch: proxy(502, 'Bad Gateway') })).toMatchObject({ accepted: false, failure: expect.stringMatching(/answered HTTP 502 .*try again later/) });
  });

  it('gives up at once on an answer from something that is not a Postern server (404 page, HTML 200, redirect)', async () => {
    const answers: Array<[number, string, Record<string, string>]> = [
      [404, '<html>Not Found</html>', { 'content-type': 'text/html' }],
      [200, '<!doctype html><title>Sign in</title>', { 'content-type': 'text/html; charset=utf-8' }],
      [501, '', {}],
      [301, '', { location: 'https://www.example.com/' }],
    ];
    for (const [status, body, headers] of answers) {
      let calls = 0;
      const web: typeof fetch = async () => {
        calls++;
        return new Response(status === 301 ? null : body, { status, headers });
      };
      const outcome = await reportOnceOverHttp({ ...options, fetch: web });
      expect(outcome).toMatchObject({ accepted: false, failure: expect.stringMatching(new RegExp(`^https://postern\\.test is not a Postern server: GET https://postern\\.test/v1/nonce answered HTTP ${status}`)) });
      expect(calls).toBe(1);
    }
    expect(waits).toEqual([]);
  });

  it('refuses an http:// server on another machine before sending anything', async () => {
    let calls = 0;
    const spy: typeof fetch = async () => {
      calls++;
      return json(200, {});
    };
    expect(await rejectionOf(reportOnceOverHttp({ ...options, server: 'http://192.0.2.1:8080', fetch: spy }))).toMatchObject({ code: 'insecure_server' });
    expect(calls).toBe(0);
  });

  it('gives up at once on a certificate this device does not trust, and says to pass --ca', async () => {
    let calls = 0;
    const untrusted: typeof fetch = async () => {
      calls++;
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) });
    };
    const outcome = await reportOnceOverHttp({ ...options, fetch: untrusted });
    expect(outcome).toMatchObject({ accepted: false, failure: expect.stringMatching(/certificate of postern\.test is signed by a certificate authority this device does not trust .*--ca FILE/) });
    expect(calls).toBe(1);
  });

  it('skips seq ahead and retries once with a new nonce when the server saw the seq already', async () => {
    const posted: number[] = [];
    let nonces = 0;
    const fetchFake: typeof fetch = async (url, init) => {
      if (String(url).endsWith('/v1/nonce')) {
        nonces++;
        return json(200, { nonce: randomBytes(32).toString('base64url'), server_time: 0 });
      }
      const { seq } = evidenceClaims.parse(decodeJwt(JSON.parse(String(init?.body)).token));
      posted.push(seq);
      if (posted.length === 1) return json(409, { error: { code: 'replayed_seq', message: 'seq 1 is not above 5000' } });
      return json(200, { seq, verdict: 'compliant', score: 100, checks: [], token: 'a.b.c', nonce: randomBytes(32).toString('base64url') });
    };
    const at = Date.now();
    const outcome = await reportOnceOverHttp({ ...options, fetch: fetchFake, now: () => at });

    expect(outcome).toMatchObject({ accepted: true });
    expect(nonces).toBe(2);
    expect(posted).toEqual([1, at + 1]);
  });

  it('gives up after one retry', async () => {
    const always: typeof fetch = async (url) =>
      String(url).endsWith('/v1/nonce')
        ? json(200, { nonce: randomBytes(32).toString('base64url'), server_time: 0 })
        : json(409, { error: { code: 'replayed_seq', message: 'again' } });
    expect(await reportOnceOverHttp({ ...options, fetch: always })).toMatchObject({ accepted: false, refused: { code: 'replayed_seq' } });
  });

  it("reads problem details: the code decides and the detail is the server's sentence", async () => {
    const fetchFake: typeof fetch = async (url) => (String(url).endsWith('/v1/nonce') ? issueNonce() : problem(400, 'clock_skew', 'iat is 300 s from the server clock: fix the system time'));
    expect(await reportOnceOverHttp({ ...options, fetch: fetchFake })).toEqual({
      accepted: false,
      refused: { code: 'clock_skew', message: 'iat is 300 s from the server clock: fix the system time' },
    });
  });

  it('stops as revoked on a problem details body with the code revoked', async () => {
    const fetchFake: typeof fetch = async (url) => (String(url).endsWith('/v1/nonce') ? issueNonce() : problem(403, 'revoked', 'this device has been revoked'));
    await expect(reportOnceOverHttp({ ...options, fetch: fetchFake })).rejects.toMatchObject({ code: 'revoked' });
    expect(await options.store.readDevice()).toMatchObject({ status: 'revoked' });
  });

  it('gives up on a 403 with another Postern code without taking the device as revoked', async () => {
    const fetchFake: typeof fetch = async (url) => (String(url).endsWith('/v1/nonce') ? issueNonce() : problem(403, 'forbidden', 'not for you'));
    expect(await reportOnceOverHttp({ ...options, fetch: fetchFake })).toMatchObject({ accepted: false, refused: { code: 'forbidden' } });
    expect(await options.store.readDevice()).toMatchObject({ status: 'active' });
  });

  it('waits as long as Retry-After asks when rate limited, then sends the report again over a new nonce', async () => {
    const nonces: string[] = [];
    const signedOver: string[] = [];
    const fetchFake: typeof fetch = async (url, init) => {
      if (String(url).endsWith('/v1/nonce')) {
        const response = issueNonce();
        nonces.push(((await response.clone().json()) as { nonce: string }).nonce);
        return response;
      }
      const { eat_nonce, seq } = evidenceClaims.parse(decodeJwt(JSON.parse(String(init?.body)).token));
      signedOver.push(eat_nonce);
      return signedOver.length === 1 ? problem(429, 'rate_limited', 'the server is at capacity', { 'retry-after': '2' }) : accepted(seq);
    };
    expect(await reportOnceOverHttp({ ...options, fetch: fetchFake })).toMatchObject({ accepted: true });
    expect(waits).toEqual([2_000]);
    expect(signedOver).toEqual(nonces);
    expect(nonces).toHaveLength(2);
  });

  it('retries an unreachable server after a backoff, then says it could not reach it', async () => {
    let calls = 0;
    const unreachable: typeof fetch = async () => {
      calls++;
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }) });
    };
    const outcome = await reportOnceOverHttp({ ...options, fetch: unreachable });
    expect(outcome).toMatchObject({ accepted: false, failure: expect.stringMatching(/^could not reach https:\/\/postern\.test \(.*ECONNREFUSED.*\): check the server URL/) });
    expect(calls).toBe(1 + LATER_ATTEMPTS);
    expect(waits).toEqual(Array(LATER_ATTEMPTS).fill(50));
  });

  it("recovers when a proxy's error page gives way to the server's answer", async () => {
    let posts = 0;
    const fetchFake: typeof fetch = async (url, init) => {
      if (String(url).endsWith('/v1/nonce')) return issueNonce();
      const { seq } = evidenceClaims.parse(decodeJwt(JSON.parse(String(init?.body)).token));
      return ++posts === 1 ? new Response('<html>502 Bad Gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }) : accepted(seq);
    };
    expect(await reportOnceOverHttp({ ...options, fetch: fetchFake })).toMatchObject({ accepted: true, result: { verdict: 'compliant' } });
    expect(waits).toHaveLength(1);
  });
});

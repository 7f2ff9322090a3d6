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
import { reportOnceOverHttp, type HttpReportOptions } from './http-report.js';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('reportOnceOverHttp', () => {
  let dir: string;
  let options: Omit<HttpReportOptions, 'fetch'>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-http-'));
    const { store, keyStore } = await fakeEnrollment(dir, { server: 'https://postern.test' });
    options = { store, keyStore, collector: new FakeCollector(), log: memoryLogger() };
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
});

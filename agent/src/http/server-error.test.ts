import { describe, expect, it } from 'vitest';
import { readServerError, retryAfterMs } from './server-error.js';

describe('readServerError', () => {
  it('reads RFC 9457 problem details: the code to decide by and the detail as the sentence', () => {
    const body = { type: 'urn:postern:problem:rate_limited', title: 'Too many requests', status: 429, detail: 'the server is at capacity: try again in a second', code: 'rate_limited' };
    expect(readServerError(body)).toEqual({ code: 'rate_limited', message: 'the server is at capacity: try again in a second' });
  });

  it('reads the legacy {error:{code,message}} body of servers not yet upgraded', () => {
    expect(readServerError({ error: { code: 'revoked', message: 'this device has been revoked' } })).toEqual({ code: 'revoked', message: 'this device has been revoked' });
  });

  it('finds no Postern error in a proxy page, an empty body or some other service\'s JSON', () => {
    expect(readServerError(undefined)).toBeNull();
    expect(readServerError('<html>Forbidden</html>')).toBeNull();
    expect(readServerError({ message: 'Forbidden' })).toBeNull();
    expect(readServerError({ type: 'about:blank', title: 'Forbidden', status: 403 })).toBeNull();
  });
});

describe('retryAfterMs', () => {
  const now = () => Date.parse('2026-12-01T12:00:00Z');
  it('reads delay-seconds and HTTP-dates, and nothing else', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '30' }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 01 Dec 2026 12:00:05 GMT' }), now)).toBe(5_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 01 Dec 2026 11:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

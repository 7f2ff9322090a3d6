import { describe, expect, it } from 'vitest';
import { DpopInvalid } from './dpop.js';
import { GATEWAY_KINDS, originalRequest, type ForwardedTrust, type ReceivedRequest } from './original-request.js';

/** Every forwarding header a client might write itself, each naming a URL of its choosing. */
const SPOOFED = {
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'spoofed.example',
  'x-forwarded-uri': '/spoofed',
  'x-forwarded-method': 'DELETE',
  'x-original-uri': '/spoofed',
  'x-original-url': 'https://spoofed.example/spoofed',
  'x-original-method': 'DELETE',
};

const direct = (headers: Record<string, string> = {}, o: Partial<ReceivedRequest> = {}): ReceivedRequest => ({
  method: 'GET',
  target: '/v1/authz?x=1',
  headers: { host: 'postern.internal:8700', ...headers },
  encrypted: false,
  ...o,
});
const behind = (gateway: ForwardedTrust['gateway']): ForwardedTrust => ({ trust: true, gateway });
const UNTRUSTED: ForwardedTrust = { trust: false, gateway: null };

describe('originalRequest', () => {
  describe('without POSTERN_TRUST_PROXY, the request itself is the original', () => {
    it('whatever forwarding headers a client adds, for any gateway setting', () => {
      for (const gateway of [null, ...GATEWAY_KINDS]) {
        expect(originalRequest(direct(SPOOFED), { trust: false, gateway })).toEqual({ method: 'GET', url: 'http://postern.internal:8700/v1/authz?x=1' });
      }
    });

    it('with https when it came in over TLS on this server', () => {
      expect(originalRequest(direct({}, { encrypted: true }), UNTRUSTED).url).toBe('https://postern.internal:8700/v1/authz?x=1');
    });
  });

  describe('behind a trusted proxy with no gateway set', () => {
    it('reads X-Forwarded-Proto and -Host for the request’s own URL, and no method, URI or URL header', () => {
      expect(originalRequest(direct(SPOOFED), behind(null))).toEqual({ method: 'GET', url: 'https://spoofed.example/v1/authz?x=1' });
    });
  });

  describe('behind nginx (docs/gateways/nginx.conf)', () => {
    it('takes X-Original-URL and X-Original-Method', () => {
      const headers = { 'x-original-url': 'https://app.example.com/reports/q3?page=2', 'x-original-method': 'post' };
      expect(originalRequest(direct(headers), behind('nginx'))).toEqual({ method: 'POST', url: 'https://app.example.com/reports/q3?page=2' });
    });

    it('ignores the X-Forwarded-* set, which nginx.conf does not send', () => {
      const { 'x-original-url': _url, 'x-original-method': _method, ...forwardedOnly } = SPOOFED;
      expect(originalRequest(direct(forwardedOnly), behind('nginx'))).toEqual({ method: 'GET', url: 'http://postern.internal:8700/v1/authz?x=1' });
    });

    it('refuses an X-Original-URL that is not an absolute http(s) URL', () => {
      expect(() => originalRequest(direct({ 'x-original-url': '/relative' }), behind('nginx'))).toThrow(DpopInvalid);
      expect(() => originalRequest(direct({ 'x-original-url': 'ftp://app.example.com/' }), behind('nginx'))).toThrow(/not an http\(s\) URL/);
    });
  });

  describe.each(['caddy', 'traefik'] as const)('behind %s (forward auth)', (gateway) => {
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/reports/q3?page=2', 'x-forwarded-method': 'PUT' };

    it('builds the URL from X-Forwarded-Proto, -Host and -Uri, and takes X-Forwarded-Method', () => {
      expect(originalRequest(direct(headers), behind(gateway))).toEqual({ method: 'PUT', url: 'https://app.example.com/reports/q3?page=2' });
    });

    it('ignores X-Original-URL and X-Original-Method, which it does not send', () => {
      const request = direct({ ...headers, 'x-original-url': 'https://spoofed.example/', 'x-original-method': 'DELETE' });
      expect(originalRequest(request, behind(gateway))).toEqual({ method: 'PUT', url: 'https://app.example.com/reports/q3?page=2' });
    });

    it('refuses a host that carries a path or user part, which would move the URL the proof is checked against', () => {
      for (const host of ['app.example.com/other?', 'user@app.example.com', 'app.example.com:notaport']) {
        expect(() => originalRequest(direct({ ...headers, 'x-forwarded-host': host }), behind(gateway))).toThrow(/host|URL/);
      }
    });

    it('refuses a scheme other than http(s), a path without its leading slash, and a method that is no token', () => {
      expect(() => originalRequest(direct({ ...headers, 'x-forwarded-proto': 'javascript' }), behind(gateway))).toThrow(/scheme/);
      expect(() => originalRequest(direct({ ...headers, 'x-forwarded-uri': 'reports' }), behind(gateway))).toThrow(/does not start with/);
      expect(() => originalRequest(direct({ ...headers, 'x-forwarded-method': 'GET /x' }), behind(gateway))).toThrow(/not an HTTP method/);
    });

    it('refuses a host or scheme sent twice (Node joins repeated headers with a comma)', () => {
      expect(() => originalRequest(direct({ ...headers, 'x-forwarded-host': 'spoofed.example, app.example.com' }), behind(gateway))).toThrow(/more than once/);
      expect(() => originalRequest(direct({ ...headers, 'x-forwarded-proto': 'http, https' }), behind(gateway))).toThrow(/more than once/);
    });

    it('keeps commas in the URI, where they are ordinary characters', () => {
      expect(originalRequest(direct({ ...headers, 'x-forwarded-uri': '/a,b?c=1,2' }), behind(gateway)).url).toBe('https://app.example.com/a,b?c=1,2');
    });
  });

  describe('behind Envoy ext_authz (docs/gateways/envoy.yaml)', () => {
    it('takes the method, Host and X-Forwarded-Proto of the check, and the path after /v1/authz', () => {
      const request = direct({ ...SPOOFED, host: 'app.example.com' }, { method: 'PATCH', target: '/v1/authz/reports/q3?page=2' });
      expect(originalRequest(request, behind('envoy'))).toEqual({ method: 'PATCH', url: 'https://app.example.com/reports/q3?page=2' });
    });

    it('treats /v1/authz itself as a direct call', () => {
      expect(originalRequest(direct({ host: 'postern.internal:8700', 'x-forwarded-proto': 'https' }), behind('envoy'))).toEqual({ method: 'GET', url: 'https://postern.internal:8700/v1/authz?x=1' });
    });
  });
});

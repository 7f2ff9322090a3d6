import type { IncomingHttpHeaders } from 'node:http';
import { DpopInvalid } from './dpop.js';

/** The gateways whose forward-auth headers Postern knows (POSTERN_GATEWAY); docs/gateways/ holds a configuration for each. */
export const GATEWAY_KINDS = ['nginx', 'caddy', 'traefik', 'envoy'] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];

/**
 * Which forwarded headers count. Without trust, none: the request to `/v1/authz` is the original.
 * With trust and no gateway, a plain reverse proxy's X-Forwarded-Proto and X-Forwarded-Host name
 * this request's own URL. With a gateway, exactly the headers that gateway sets, and no others.
 */
export interface ForwardedTrust {
  trust: boolean;
  gateway: GatewayKind | null;
}

/** The request as this server received it. */
export interface ReceivedRequest {
  method: string;
  /** The request target: path and query. */
  target: string;
  headers: IncomingHttpHeaders;
  /** Whether it came in over TLS on this server's own socket. */
  encrypted: boolean;
}

/** The request the device made, whose method and URL its DPoP proof must name. */
export interface OriginalRequest {
  method: string;
  url: string;
}

/** Envoy's ext_authz HTTP service asks at `path_prefix` + the original path (docs/gateways/envoy.yaml). */
export const ENVOY_PATH_PREFIX = '/v1/authz';

/**
 * The original request behind a forward-auth call, from the headers the configured gateway sets:
 *
 * - nginx (docs/gateways/nginx.conf): `X-Original-URL` and `X-Original-Method`;
 * - Caddy `forward_auth`, Traefik `forwardAuth`: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`;
 * - Envoy `ext_authz` (HTTP service): the request's own method, `Host` and `X-Forwarded-Proto`,
 *   and its path after {@link ENVOY_PATH_PREFIX}.
 *
 * When the gateway's headers are absent, the request itself is the original (a direct call).
 * A forwarded value that makes no URL is refused as `invalid_dpop_proof`: a proof cannot match it.
 *
 * @example
 * originalRequest({ method: 'GET', target: '/v1/authz', encrypted: false, headers: { host: 'postern:8700',
 *   'x-original-url': 'https://app.example.com/q3?x=1', 'x-original-method': 'POST' } }, { trust: true, gateway: 'nginx' })
 * // → { method: 'POST', url: 'https://app.example.com/q3?x=1' }
 */
export function originalRequest(request: ReceivedRequest, forwarded: ForwardedTrust): OriginalRequest {
  const header = (name: string): string | undefined => single(request.headers, name);
  const own = (): OriginalRequest => ({ method: request.method, url: urlOf(ownScheme(), ownHost(), request.target, 'the request') });
  const ownScheme = () => (forwarded.trust && forwarded.gateway !== 'nginx' ? header('x-forwarded-proto') : undefined) ?? (request.encrypted ? 'https' : 'http');
  const ownHost = () => (forwarded.trust && forwarded.gateway !== 'nginx' && forwarded.gateway !== 'envoy' ? header('x-forwarded-host') : undefined) ?? header('host') ?? '';

  if (!forwarded.trust || forwarded.gateway === null) return own();
  switch (forwarded.gateway) {
    case 'nginx': {
      const url = header('x-original-url');
      if (url === undefined) return own();
      return { method: methodOf(header('x-original-method') ?? request.method, 'X-Original-Method'), url: absoluteUrl(url) };
    }
    case 'caddy':
    case 'traefik': {
      const uri = header('x-forwarded-uri');
      if (uri === undefined) return own();
      return { method: methodOf(header('x-forwarded-method') ?? request.method, 'X-Forwarded-Method'), url: urlOf(ownScheme(), ownHost(), uri, 'X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri') };
    }
    case 'envoy': {
      const path = request.target.startsWith(`${ENVOY_PATH_PREFIX}/`) ? request.target.slice(ENVOY_PATH_PREFIX.length) : undefined;
      if (path === undefined) return own();
      return { method: request.method, url: urlOf(ownScheme(), ownHost(), path, 'Host, X-Forwarded-Proto and the path after /v1/authz') };
    }
  }
}

/** Headers whose value never holds a comma: Node joins repeated copies with ", ". */
const ONE_TOKEN = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-method', 'x-original-method']);

/** One header's value; a repeated one (two proxies, or a client's copy kept) is ambiguous and refused. */
function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || value === '') return undefined;
  if (Array.isArray(value) || (ONE_TOKEN.has(name) && value.includes(','))) {
    throw new DpopInvalid(`the gateway sent ${name} more than once: it must set the header itself and drop any copy from the client (docs/gateways/README.md)`);
  }
  return value.trim();
}

function methodOf(method: string, header: string): string {
  if (!/^[A-Za-z]{1,20}$/.test(method)) throw new DpopInvalid(`${header} "${method}" is not an HTTP method`);
  return method.toUpperCase();
}

function urlOf(scheme: string, host: string, target: string, from: string): string {
  const lower = scheme.toLowerCase();
  if (lower !== 'http' && lower !== 'https') throw new DpopInvalid(`the original request's scheme "${scheme}" is not http or https`);
  if (!target.startsWith('/')) throw new DpopInvalid(`the original request's path "${target}" does not start with "/" (from ${from})`);
  let url: URL;
  try {
    url = new URL(`${lower}://${host}${target}`);
  } catch {
    throw new DpopInvalid(`the original request (from ${from}) is not a URL: check the gateway's configuration (docs/gateways/README.md)`);
  }
  // A host that carries a path, query or user part would move the URL the proof is checked against.
  if (host === '' || url.host !== host.toLowerCase()) throw new DpopInvalid(`the original request's host "${host}" is not a host name (from ${from})`);
  return url.href;
}

function absoluteUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DpopInvalid(`X-Original-URL "${raw}" is not an absolute URL: check the gateway's configuration (docs/gateways/nginx.conf)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DpopInvalid(`X-Original-URL "${raw}" is not an http(s) URL`);
  return url.href;
}

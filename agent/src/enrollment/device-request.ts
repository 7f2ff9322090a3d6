import { nonceResponse } from '@postern/shared';
import type { z } from 'zod';
import { AgentError } from '../errors.js';
import { describeForeignAnswer, mediaType } from '../http/foreign-answer.js';
import { readServerError } from '../http/server-error.js';
import { describeConnectionError } from '../net/connection-error.js';
import { secureFetch } from '../net/secure-fetch.js';
import { loadTrustStore } from '../net/trust-store.js';
import { normalizeServerUrl } from './server-url.js';

/** The server refused a device request in its own words: `serverCode` is the problem's code. */
export class DeviceRequestRefused extends AgentError {
  constructor(
    readonly serverCode: string,
    message: string,
  ) {
    super('request_refused', message);
  }
}

export interface DeviceRequestOptions {
  server: string;
  fetch: typeof fetch;
  caFile?: string | undefined;
  timeoutMs?: number;
}

/**
 * One signed request of the device about itself (key rotation, unenrollment): a fresh nonce from
 * `GET /v1/nonce`, the body built around it (signed by the caller), `POST path`, the answer read
 * against `schema`. A refusal is a `DeviceRequestRefused` naming the server's code.
 */
export async function deviceRequest<S extends z.ZodType>(o: DeviceRequestOptions, path: string, build: (nonce: string) => Promise<unknown>, schema: S): Promise<z.infer<S>> {
  const { nonce } = await call(o, 'GET', '/v1/nonce', undefined, nonceResponse);
  return call(o, 'POST', path, await build(nonce), schema);
}

async function call<S extends z.ZodType>(o: DeviceRequestOptions, method: 'GET' | 'POST', path: string, body: unknown, schema: S): Promise<z.infer<S>> {
  const url = `${o.server}${path}`;
  let response: Response;
  try {
    response = await o.fetch(url, {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new AgentError('unreachable', describeConnectionError(err, o.server, o.caFile).message, { cause: err });
  }
  const json: unknown = await response.json().catch(() => undefined);
  if (response.ok) {
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    throw new AgentError('bad_response', `${o.server} answered ${method} ${path} with a body this agent does not understand: check that the agent and server versions match`);
  }
  const refusal = readServerError(json);
  if (refusal) throw new DeviceRequestRefused(refusal.code, `the server refused ${method} ${path} (${refusal.code}): ${refusal.message}`);
  throw new AgentError('bad_response', describeForeignAnswer(`${method} ${url}`, o.server, { status: response.status, contentType: mediaType(response.headers.get('content-type')), location: response.headers.get('location') }).message);
}

/** Where an enrolled device's requests go: `--server`/`--ca` when given, else what enrollment saved; TLS verified as for reports. */
export async function deviceHttp(device: { server: string; ca_file?: string | undefined }, o: { server?: string | undefined; caFile?: string | undefined; fetch?: typeof fetch } = {}): Promise<DeviceRequestOptions> {
  const server = normalizeServerUrl(o.server ?? device.server);
  const caFile = o.caFile ?? device.ca_file;
  return { server, caFile, fetch: o.fetch ?? secureFetch(await loadTrustStore({ caFile })) };
}

import { enrollResponse, type EnrollResponse } from '@postern/shared';
import { EnrollmentError } from '../errors.js';
import { describeForeignAnswer, mediaType } from '../http/foreign-answer.js';
import { readServerError, retryAfterMs, type ServerError } from '../http/server-error.js';
import type { KeyStore } from '../keystore/key-store.js';
import { describeConnectionError } from '../net/connection-error.js';
import { secureFetch } from '../net/secure-fetch.js';
import { loadTrustStore } from '../net/trust-store.js';
import type { DeviceState } from '../state/files.js';
import type { StateStore } from '../state/store.js';
import { AGENT_VERSION } from '../version.js';
import { readDeviceFacts, type DeviceFacts } from './device-facts.js';
import { buildEnrollRequest, newUeid } from './request.js';
import { normalizeServerUrl } from './server-url.js';

export interface EnrollOptions {
  server: string;
  enrollmentToken: string;
  store: StateStore;
  keyStore: KeyStore;
  /** Forget an existing enrollment and key and enroll again. */
  force?: boolean;
  /** A private CA's PEM file to trust besides the system's; saved for `run`. */
  caFile?: string | undefined;
  /** Overrides for tests (replaces the TLS-verifying fetch). */
  fetch?: typeof fetch;
  facts?: DeviceFacts;
  agentVersion?: string;
  now?: () => number;
  timeoutMs?: number;
}

/**
 * Enroll this device: make a fresh key, send `POST /v1/enroll` with a request signed
 * by it, and save the key and `device.json` only when the server answers 201.
 *
 * Each enrollment gets a new key: the server refuses a key it already knows (409),
 * and `--force` is for starting over (a re-imaged or revoked device).
 */
export async function enroll(options: EnrollOptions): Promise<DeviceState> {
  const server = normalizeServerUrl(options.server);
  const { store, keyStore } = options;
  const now = options.now ?? Date.now;

  const existing = await store.readDevice().catch((err: unknown) => {
    if (options.force) return null; // a corrupt file is exactly what --force is for
    throw err;
  });
  if (existing && !options.force) {
    throw new EnrollmentError(
      'already_enrolled',
      `this device is already enrolled as ${existing.device_id} with ${existing.server}: use --force to enroll it again with a new key`,
    );
  }

  // Read the CA first: a wrong --ca is a mistake to report before any key is made.
  const trust = await loadTrustStore({ caFile: options.caFile });
  const facts = options.facts ?? (await readDeviceFacts());
  await store.ensureDir();
  // The new key stays in memory until the server accepts it: a refused `--force`
  // (bad token, unreachable server, rate limit) leaves the working enrollment alone.
  const pending = await keyStore.generate();
  const { key } = pending;
  const ueid = newUeid();
  const request = await buildEnrollRequest({
    key,
    enrollmentToken: options.enrollmentToken,
    ueid,
    facts,
    agentVersion: options.agentVersion ?? AGENT_VERSION,
    now,
  });

  const fetchImpl = options.fetch ?? secureFetch(trust);
  const body = await postEnroll(server, request, fetchImpl, options.timeoutMs ?? 30_000, now, trust.caFile);
  const device: DeviceState = {
    version: 1,
    device_id: body.device_id,
    server,
    ueid,
    kid: key.kid,
    status: body.status,
    group: null,
    expires_at: body.expires_at,
    report_interval_s: body.report_interval_s,
    enrolled_at: Math.floor(now() / 1000),
    key_created_at: Math.floor(now() / 1000),
    ...(body.relink_of ? { relink_of: body.relink_of } : {}),
    ...(trust.caFile ? { ca_file: trust.caFile } : {}),
    last_seq: 0,
  };
  // Key first: if saving it fails, the old key and device.json still belong together.
  await pending.save();
  if (options.force) await store.forgetEnrollment();
  await store.writeDevice(device);
  return device;
}

async function postEnroll(server: string, request: string, fetchImpl: typeof fetch, timeoutMs: number, now: () => number, caFile: string | undefined): Promise<EnrollResponse> {
  const url = `${server}/v1/enroll`;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ request }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const failure = describeConnectionError(err, server, caFile);
    throw new EnrollmentError(failure.final ? 'tls_failed' : 'unreachable', failure.message, { cause: err });
  }

  const json: unknown = await response.json().catch(() => undefined);
  if (response.status === 201) {
    const parsed = enrollResponse.safeParse(json);
    if (!parsed.success) {
      throw new EnrollmentError('bad_response', `${server} answered the enrollment with a body this agent does not understand: check that the URL points at a Postern server of a matching version`);
    }
    return parsed.data;
  }
  const refusal = response.ok ? null : readServerError(json);
  if (!refusal) {
    const foreign = describeForeignAnswer(`POST ${url}`, server, { status: response.status, contentType: mediaType(response.headers.get('content-type')), location: response.headers.get('location') });
    throw new EnrollmentError(foreign.notPostern ? 'not_postern' : 'bad_response', foreign.message);
  }
  throw enrollmentRefused(refusal, retryAfterMs(response.headers, now));
}

/** The server's refusal as what to do about it, chosen by its `code` alone. */
function enrollmentRefused({ code, message }: ServerError, retryAfter: number | undefined): EnrollmentError {
  switch (code) {
    case 'malformed':
    case 'schema':
    case 'bad_signature':
      return new EnrollmentError('malformed_request', `the server refused the enrollment request as malformed (${message}): check that the agent and server versions match`);
    case 'clock_skew':
      return new EnrollmentError('clock_skew', `the server refused the enrollment request because this device's clock is off (${message}): fix the system time and try again`);
    case 'invalid_token':
      return new EnrollmentError('token_rejected', 'the enrollment token is unknown, expired or used up: ask your administrator for a new one');
    case 'token_revoked':
      return new EnrollmentError('token_revoked', `the enrollment token was revoked (${message}): ask your administrator for a new one`);
    case 'already_enrolled':
      return new EnrollmentError('already_enrolled', 'the server already knows this device key: run `postern-agent enroll --force` to enroll again with a new key');
    case 'not_found':
      return new EnrollmentError('not_postern', `the server has no enrollment endpoint at this URL (${message}): check the path in the server URL`);
    case 'rate_limited': {
      const wait = retryAfter === undefined ? 'a minute' : `${Math.ceil(retryAfter / 1000)} seconds`;
      return new EnrollmentError('rate_limited', `too many enrollment attempts: wait ${wait} and try again`);
    }
    default:
      return new EnrollmentError('server_error', `the server refused the enrollment (${code}: ${message}): try again later, or tell your administrator`);
  }
}

import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { addressRefusal, type AllowList } from './push-address.js';

export interface PushLimits {
  /** The whole exchange, connect to last byte. */
  timeoutMs: number;
  /** Of the answer's body; a longer one is cut off and counts as a failure. */
  maxResponseBytes: number;
}

export const PUSH_LIMITS: PushLimits = { timeoutMs: 10_000, maxResponseBytes: 64 * 1024 };

/** What became of one POST of a SET (RFC 8935 §2). */
export type PushOutcome =
  | { result: 'delivered'; status: number }
  /** 400 with an RFC 8935 §2.3 error: this SET will never be accepted. */
  | { result: 'rejected'; status: number; err: string; description: string }
  /** Worth trying again later: a refused address, the network, a timeout, any other answer. */
  | { result: 'failed'; error: string; status?: number };

/**
 * POSTs one SET as `application/secevent+jwt`. The host is resolved here, every address it
 * resolves to is checked, and the connection goes to the checked address (the `lookup` below
 * answers only it), so a DNS answer that changes between check and connect cannot move it to an
 * internal address. Redirects are never followed; time and answer size are bounded.
 */
export async function pushSet(endpoint: string, jwt: string, authorization: string | null, allow: AllowList, limits: PushLimits = PUSH_LIMITS): Promise<PushOutcome> {
  const url = new URL(endpoint);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const started = Date.now();
  let addresses: Array<{ address: string; family: number }>;
  try {
    // The lookup counts against the time bound too: a slow resolver must not outlast the delivery's claim.
    addresses = isIP(hostname) ? [{ address: hostname, family: isIP(hostname) }] : await within(lookup(hostname, { all: true, verbatim: true }), limits.timeoutMs, `no DNS answer within ${limits.timeoutMs} ms`);
  } catch (error) {
    return { result: 'failed', error: `cannot resolve ${hostname}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, hostname, allow);
    if (refusal) return { result: 'failed', error: `refused to push to ${hostname}: ${refusal}` };
  }
  const pinned = addresses[0];
  if (!pinned) return { result: 'failed', error: `${hostname} resolves to no address` };
  const pinnedLookup: LookupFunction = (_host, options, callback) => {
    if (options.all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PushOutcome>((resolve) => {
    const timer = setTimeout(
      () => {
        req.destroy(new Error(`no answer within ${limits.timeoutMs} ms`));
      },
      Math.max(0, limits.timeoutMs - (Date.now() - started)),
    );
    const done = (outcome: PushOutcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request(
      url,
      {
        method: 'POST',
        lookup: pinnedLookup,
        headers: {
          'content-type': 'application/secevent+jwt',
          accept: 'application/json',
          'content-length': Buffer.byteLength(jwt),
          ...(authorization ? { authorization } : {}),
        },
        agent: false,
      },
      (res) => void readBounded(res, limits.maxResponseBytes).then((body) => done(outcomeOf(res.statusCode ?? 0, res.headers.location, body)), (error: Error) => done({ result: 'failed', error: error.message, status: res.statusCode ?? 0 })),
    );
    // The stream's last error is shown to every admin: the host only, as a path or query may hold the receiver's secret.
    req.on('error', (error) => done({ result: 'failed', error: `POST to ${url.host}: ${error.message}` }));
    req.end(jwt);
  });
}

function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'ETIMEOUT' })), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function readBounded(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        res.destroy();
        reject(new Error(`the receiver's answer is larger than ${max} bytes`));
      } else chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** RFC 8935 §2.2: 202 accepted; §2.3: 400 with {err, description} refuses this SET for good. */
export function outcomeOf(status: number, location: string | undefined, body: string): PushOutcome {
  if (status >= 200 && status < 300) return { result: 'delivered', status };
  if (status >= 300 && status < 400) return { result: 'failed', status, error: `the receiver answered ${status} redirecting to ${originOf(location)}; redirects are not followed: set the stream's endpoint_url to the final URL` };
  if (status === 400) {
    try {
      const parsed = JSON.parse(body) as { err?: unknown; description?: unknown };
      if (typeof parsed.err === 'string') return { result: 'rejected', status, err: parsed.err, description: typeof parsed.description === 'string' ? parsed.description : '' };
    } catch {
      // not an RFC 8935 error body: treated as any other failure below
    }
  }
  return { result: 'failed', status, error: `the receiver answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}` };
}

/** Where a redirect points, as its origin only (the stream's last error is shown to every admin). */
function originOf(location: string | undefined): string {
  if (!location) return 'nowhere';
  if (location.startsWith('/')) return 'another path of the same host';
  try {
    return `${new URL(location).origin}/…`;
  } catch {
    return 'an address that is not a URL';
  }
}

import type { RequestInit as UndiciRequestInit } from 'undici';
import type { TrustStore } from './trust-store.js';

/**
 * `fetch` that verifies servers against `trust` and never follows a redirect (a
 * Postern server sends none; following one could carry the enrollment token
 * elsewhere, even to http://). A 3xx comes back as the answer, for the caller to explain.
 *
 * undici's own `fetch` goes with its `Agent`: Node's built-in fetch is a bundled
 * undici of whatever version this Node has, which need not accept this one's Agent.
 * undici is loaded on the first request: it is a large module with a WebAssembly HTTP parser,
 * and a running agent reports over its WebSocket, so most runs never need it.
 */
export function secureFetch(trust: TrustStore): typeof fetch {
  let client: Promise<{ undiciFetch: typeof import('undici').fetch; dispatcher: import('undici').Agent }> | undefined;
  return async (input, init) => {
    // A failed load (a broken installation) is tried again on the next request, not kept.
    client ??= import('undici').then(
      ({ Agent, fetch: undiciFetch }) => ({ undiciFetch, dispatcher: new Agent({ connect: { ca: [...trust.certificates] } }) }),
      (error: unknown) => {
        client = undefined;
        throw error;
      },
    );
    const { undiciFetch, dispatcher } = await client;
    return undiciFetch(input as string | URL, { ...(init as UndiciRequestInit | undefined), redirect: 'manual', dispatcher }) as unknown as Promise<Response>;
  };
}

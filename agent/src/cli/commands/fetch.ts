import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { verdict } from '@postern/shared';
import { storedDpopCredentials } from '../../dpop/stored-token.js';
import { sendWithDpop, type DpopRequest } from '../../http/dpop-request.js';
import { readServerError } from '../../http/server-error.js';
import { AgentError, reasonOf } from '../../errors.js';
import { refuseClearText } from '../../net/clear-text.js';
import { describeConnectionError } from '../../net/connection-error.js';
import { secureFetch } from '../../net/secure-fetch.js';
import { loadTrustStore } from '../../net/trust-store.js';
import { openState } from '../context.js';

export interface FetchCommandOptions {
  request?: string;
  header?: string[];
  data?: string;
  ca?: string;
  state?: string;
}

/** Headers the agent writes itself: a second copy would make the request mean two things. */
const OWN_HEADERS = new Set(['authorization', 'dpop']);

/**
 * The request `postern-agent fetch URL [-X M] [-H 'Name: value']... [--data BODY|@file]` describes,
 * checked before anything is signed: curl's rules (POST when there is a body and no -X).
 */
export async function requestOf(url: string, opts: FetchCommandOptions, read: (path: string) => Promise<Uint8Array> = readFile): Promise<DpopRequest> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AgentError('bad_url', `"${url}" is not a URL: give the full address, e.g. https://app.example.com/reports`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new AgentError('bad_url', `fetch makes http(s) requests, not ${parsed.protocol}//`);
  const headers = (opts.header ?? []).map(headerOf);
  const body = opts.data === undefined ? undefined : await bodyOf(opts.data, read);
  const method = (opts.request ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new AgentError('bad_method', `-X "${opts.request}" is not an HTTP method`);
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw new AgentError('bad_request', `--data sends a body, which ${method} cannot carry: leave out -X or give -X POST (or PUT, PATCH)`);
  return { method, url: parsed.href, headers, body };
}

function headerOf(line: string): [string, string] {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon).trim() : '';
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new AgentError('bad_header', `-H "${line}" is not a header: write it as 'Name: value'`);
  if (OWN_HEADERS.has(name.toLowerCase())) throw new AgentError('bad_header', `-H ${name}: the agent sends its own ${name} header (the result token and its proof); leave it out`);
  const value = line.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new AgentError('bad_header', `-H ${name}: the value holds a line break or NUL`);
  return [name, value];
}

async function bodyOf(data: string, read: (path: string) => Promise<Uint8Array>): Promise<Uint8Array> {
  if (!data.startsWith('@')) return new TextEncoder().encode(data);
  const path = data.slice(1);
  try {
    return await read(path);
  } catch (err) {
    throw new AgentError('data_unreadable', `cannot read --data @${path} (${reasonOf(err)}): give the path of a file this user can read`);
  }
}

/**
 * Makes the request with the device's result token and a DPoP proof for exactly this method and
 * URL (a new one, with the nonce, when the server asks for it), and prints the body to stdout. A
 * status other than 2xx is said on stderr and fails the command; a revoked device exits 3.
 */
export async function fetchCommand(url: string, opts: FetchCommandOptions): Promise<void> {
  const request = await requestOf(url, opts);
  const target = new URL(request.url);
  refuseClearText(target, { what: 'the URL', carries: 'the result token and its DPoP proof' });
  const credentials = await storedDpopCredentials(openState(opts.state));
  const trust = await loadTrustStore({ caFile: opts.ca ?? credentials.caFile });
  let response: Response;
  try {
    response = await sendWithDpop(request, credentials, secureFetch(trust));
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError('unreachable', describeConnectionError(err, target.origin, trust.caFile).message, { cause: err });
  }
  const body = new Uint8Array(await response.arrayBuffer());
  await new Promise<void>((resolve, reject) => process.stdout.write(body, (err) => (err ? reject(err) : resolve())));
  if (response.ok) return;
  throw refusalOf(request, response, body);
}

/** The part of forward-auth's 403 (problem details `not_compliant`) that decides the exit status. */
const denial = z.object({ code: z.literal('not_compliant'), verdict });

/** What a refused request says on stderr: the status, and Postern's own words when the body is its problem details. */
function refusalOf(request: DpopRequest, response: Response, body: Uint8Array): AgentError {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    json = undefined;
  }
  const said = readServerError(json);
  // Forward-auth's 403 names the verdict: a revoked device exits as the agent's other commands do.
  const revoked = denial.safeParse(json).data?.verdict === 'revoked';
  const status = `${request.method} ${request.url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new AgentError(revoked ? 'revoked' : 'http_status', said ? `${status}: ${said.message} (${said.code})` : status);
}

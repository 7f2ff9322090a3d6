#!/usr/bin/env node
// An SSF receiver written apart from the transmitter it tests: it knows only the public specs
// (SSF 1.0, CAEP 1.0, RFC 8417, RFC 8935, RFC 8936) and the transmitter's issuer URL.
//
//   node receiver.mjs --issuer URL --audience AUD [--port N] [--record FILE] [--push-auth VALUE]
//
// It serves a push endpoint at POST /push and a control API for tests under /control/:
//   GET  /control/received           every SET it got, verified or not, in arrival order
//   POST /control/mode {"push": "accept" | "slow" | "unavailable"}
//   POST /control/poll {"url", "key", "maxEvents"?, "returnImmediately"?, "ack"?: true}
// Records are appended to --record (JSON lines), so a restarted receiver still knows them.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    audience: { type: 'string' },
    port: { type: 'string', default: '0' },
    record: { type: 'string' },
    'push-auth': { type: 'string' },
  },
});
if (!args.issuer || !args.audience) {
  process.stderr.write('usage: receiver.mjs --issuer URL --audience AUD [--port N] [--record FILE] [--push-auth VALUE]\n');
  process.exit(2);
}

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';
const COMPLIANCE = `${CAEP}device-compliance-change`;
const SESSION_REVOKED = `${CAEP}session-revoked`;
const VERIFICATION = `${SSF}verification`;
const INITIATORS = ['admin', 'user', 'policy', 'system'];

/** @type {Array<Record<string, unknown>>} */
const received = args.record && existsSync(args.record) ? readFileSync(args.record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
let pushMode = 'accept';

/** Discovery: the transmitter's configuration and keys, fetched once (SSF 1.0 §7). */
let discovered = null;
async function discover() {
  if (discovered) return discovered;
  const response = await fetch(`${args.issuer}/.well-known/ssf-configuration`);
  if (!response.ok) throw new Error(`ssf-configuration answered ${response.status}`);
  const configuration = await response.json();
  if (configuration.issuer !== args.issuer) throw new Error(`ssf-configuration names issuer ${configuration.issuer}, expected ${args.issuer}`);
  discovered = { configuration, jwks: createRemoteJWKSet(new URL(configuration.jwks_uri)) };
  return discovered;
}

/** Every check a receiver makes of a SET; returns the problems found (none: valid). */
async function verifySet(jwt) {
  const problems = [];
  let header = null;
  let claims = null;
  try {
    header = decodeProtectedHeader(jwt);
    const { jwks } = await discover();
    const verified = await jwtVerify(jwt, jwks, { issuer: args.issuer, audience: args.audience, algorithms: ['RS256'], typ: 'secevent+jwt' });
    claims = verified.payload;
  } catch (error) {
    problems.push(`signature or claims: ${error.code ?? ''} ${error.message}`);
    return { header, claims, problems };
  }
  if (header.typ !== 'secevent+jwt') problems.push(`typ is ${header.typ}`);
  if (typeof header.kid !== 'string') problems.push('no kid');
  if ('exp' in claims) problems.push('a SET has no exp (RFC 8417 §2.2)');
  if ('sub' in claims) problems.push('the subject is sub_id, not sub (SSF 1.0 §4.1)');
  if (typeof claims.jti !== 'string' || claims.jti.length === 0) problems.push('no jti');
  if (typeof claims.iat !== 'number') problems.push('no iat');
  if (typeof claims.txn !== 'string') problems.push('no txn');
  const events = claims.events;
  const types = events && typeof events === 'object' ? Object.keys(events) : [];
  if (types.length !== 1) problems.push(`events holds ${types.length} events, SSF sends one per SET`);
  const type = types[0];
  const body = type ? events[type] : null;
  if (!body || typeof body !== 'object') problems.push('the event is not an object');
  const sub = claims.sub_id;
  if (!sub || typeof sub !== 'object' || typeof sub.format !== 'string') problems.push('no sub_id');
  if (type === COMPLIANCE || type === SESSION_REVOKED) {
    if (sub?.format !== 'complex' || sub.device?.format !== 'opaque' || typeof sub.device?.id !== 'string') problems.push(`sub_id is not a complex subject with an opaque device: ${JSON.stringify(sub)}`);
    if (sub?.user !== undefined && (sub.user.format !== 'email' || typeof sub.user.email !== 'string')) problems.push('sub_id.user is not an email subject');
    if (typeof body?.event_timestamp !== 'number') problems.push('no event_timestamp');
    if (!INITIATORS.includes(body?.initiating_entity)) problems.push(`initiating_entity ${body?.initiating_entity}`);
    if (typeof body?.reason_admin?.en !== 'string') problems.push('reason_admin has no en text');
  }
  if (type === COMPLIANCE) {
    for (const member of ['current_status', 'previous_status']) if (!['compliant', 'not-compliant'].includes(body?.[member])) problems.push(`${member} is ${body?.[member]}`);
  } else if (type === VERIFICATION) {
    if (sub?.format !== 'opaque') problems.push('a verification event is about the stream (opaque sub_id)');
    if (body?.state !== undefined && typeof body.state !== 'string') problems.push('state is not a string');
  } else if (type !== SESSION_REVOKED) {
    problems.push(`unexpected event type ${type}`);
  }
  return { header, claims, problems };
}

async function record(jwt, via) {
  const { header, claims, problems } = await verifySet(jwt);
  const entry = { via, at: Date.now(), jti: claims?.jti ?? null, header, claims, valid: problems.length === 0, problems };
  received.push(entry);
  if (args.record) appendFileSync(args.record, `${JSON.stringify(entry)}\n`);
  return entry;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

/** RFC 8935: a SET POSTed as application/secevent+jwt; 202 once it is verified, 400 with err when it is not. */
async function push(req, res) {
  if (args['push-auth'] && req.headers.authorization !== args['push-auth']) return send(res, 401, { err: 'authentication_failed', description: 'wrong Authorization header' });
  if (req.headers['content-type'] !== 'application/secevent+jwt') return send(res, 400, { err: 'invalid_request', description: `content-type ${req.headers['content-type']}` });
  const jwt = (await readBody(req)).trim();
  if (pushMode === 'unavailable') return send(res, 503, { err: 'unavailable', description: 'down for a test' });
  const entry = await record(jwt, 'push');
  if (pushMode === 'slow') await new Promise((r) => setTimeout(r, 3_000));
  if (!entry.valid) return send(res, 400, { err: 'invalid_request', description: entry.problems.join('; ') });
  send(res, 202);
}

/** One RFC 8936 poll exchange; the SETs it verified are acknowledged on the next exchange, or at once with ack: true. */
async function poll(body) {
  const exchange = async (request) => {
    const response = await fetch(body.url, { method: 'POST', headers: { authorization: `Bearer ${body.key}`, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(request) });
    if (response.status !== 200) throw new Error(`poll answered ${response.status}: ${await response.text()}`);
    return response.json();
  };
  const answer = await exchange({ maxEvents: body.maxEvents ?? 100, returnImmediately: body.returnImmediately ?? true });
  const entries = [];
  for (const [jti, jwt] of Object.entries(answer.sets)) {
    const entry = await record(jwt, 'poll');
    if (entry.jti !== jti) entry.problems.push(`the poll answer keys it as ${jti}, its jti is ${entry.jti}`);
    entries.push(entry);
  }
  if (body.ack !== false && entries.length > 0) {
    const ack = entries.filter((e) => e.valid).map((e) => e.jti);
    const setErrs = Object.fromEntries(entries.filter((e) => !e.valid && e.jti).map((e) => [e.jti, { err: 'invalid_request', description: e.problems.join('; ') }]));
    await exchange({ maxEvents: 0, returnImmediately: true, ack, setErrs });
  }
  return { moreAvailable: answer.moreAvailable, received: entries };
}

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  const handle = async () => {
    if (req.method === 'POST' && path === '/push') return push(req, res);
    if (req.method === 'GET' && path === '/control/received') return send(res, 200, received);
    if (req.method === 'POST' && path === '/control/mode') {
      pushMode = JSON.parse(await readBody(req)).push;
      return send(res, 200, { push: pushMode });
    }
    if (req.method === 'POST' && path === '/control/poll') return send(res, 200, await poll(JSON.parse(await readBody(req))));
    send(res, 404, { error: `no ${req.method} ${path}` });
  };
  handle().catch((error) => send(res, 500, { error: String(error?.stack ?? error) }));
});
server.listen(Number(args.port), '127.0.0.1', () => {
  process.stdout.write(`ssf-receiver listening on http://127.0.0.1:${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));

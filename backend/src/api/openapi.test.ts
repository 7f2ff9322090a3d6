import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Router } from '@koa/router';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { CompactSign, exportJWK, generateKeyPair, GeneralSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceKid, KEY_CONFIRM_TYP, KEY_ROTATION_TYP, UNENROLL_TYP } from '@postern/shared';
import { testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { Browser } from '@postern/testkit/browser';
import { FakeDevice } from '@postern/testkit/fake-device';
import { freePort } from '@postern/testkit/free-port';
import { startOidcProvider, type TestOidcProvider } from '@postern/testkit/oidc-provider';
import { createLogger } from '../logging/logger.js';
import { settingsFromEnv } from '../config.js';
import { startServer, type RunningServer } from '../server.js';
import { Overloaded } from '../store/micro-batch.js';
import { createApp } from './app.js';

type Json = Record<string, unknown>;
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>>;
  components: { schemas: Record<string, Json> };
}

/** The methods an OpenAPI path item can hold; HEAD is left out, as GET implies it and the router adds it to every GET. */
const DOCUMENTED_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'];
/** Routes that read memory or the server's own files only and have no input: nothing a client sends can make them fail. */
const NO_ERROR_POSSIBLE = new Set(['GET /metrics', 'GET /openapi.json', 'GET /.well-known/jwks.json', 'GET /.well-known/ssf-configuration', 'GET /ssf/jwks.json', 'GET /install/linux.sh', 'GET /install/macos.sh', 'GET /install/windows.ps1', 'GET /auth/link.js']);

/** fetch refuses to send TRACE, so every method goes out through node:http. */
function send(method: string, url: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') out.set(name, value);
        resolve(new Response(chunks.length ? Buffer.concat(chunks) : null, { status: res.statusCode ?? 0, headers: out }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const openApiPath = (koaPath: string) => koaPath.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}');

/** The layers of every router inside a Koa app built as the server builds it: every registered route. */
function layersOf(app: ReturnType<typeof createApp>): Router['stack'] {
  const routers = app.middleware.flatMap((m) => ((m as { router?: Router }).router ? [(m as { router: Router }).router] : []));
  if (routers.length === 0) throw new Error('no @koa/router in the app');
  return routers.flatMap((router) => router.stack);
}

/**
 * Validates real answers against the document's schemas with Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses).
 * zod's default objects strip unknown members on input, so the generator leaves them open; a response
 * must not carry members the document does not name, so open objects are closed here.
 */
class Contract {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly seen = new Map<string, Set<'success' | 'error'>>();

  constructor(private readonly doc: OpenApi) {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: 'urn:postern:components', $defs: closed(doc.components.schemas) });
  }

  async check(response: Response, method: string, template: string): Promise<unknown> {
    const status = String(response.status);
    const responses = this.doc.paths[template]?.[method.toLowerCase()]?.responses;
    expect(responses, `${method} ${template} is not in the document`).toBeDefined();
    const documented = responses?.[status];
    expect(documented, `${method} ${template} answered ${status}, which the document does not list`).toBeDefined();
    if (response.status === 204) {
      expect(documented?.content, `${method} ${template} 204 is documented with content`).toBeUndefined();
      expect(await response.text()).toBe('');
      this.seen.set(`${method} ${template}`, new Set([...(this.seen.get(`${method} ${template}`) ?? []), 'success']));
      return null;
    }
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const media = documented?.content?.[mediaType];
    expect(media, `${method} ${template} ${status} answered ${mediaType}, which the document does not list`).toBeDefined();
    const text = await response.text();
    const body: unknown = mediaType.endsWith('json') ? JSON.parse(text) : text;
    const key = `${method} ${template} ${status} ${mediaType}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(closed(media?.schema ?? {}));
      this.compiled.set(key, validate);
    }
    expect(validate(body), `${key}: ${this.ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`).toBe(true);
    const kind = response.status < 400 ? 'success' : 'error';
    const op = `${method} ${template}`;
    this.seen.set(op, new Set([...(this.seen.get(op) ?? []), kind]));
    return body;
  }
}

/** Points component refs at the registered components, and closes objects that leave additionalProperties unsaid. */
function closed<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(closed) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v.replace('#/components/schemas/', 'urn:postern:components#/$defs/');
    else if (k === 'properties' || k === '$defs') out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, s]) => [name, closed(s)]));
    else out[k] = closed(v);
  }
  if (out.type === 'object' && out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out as T;
}

describe('the OpenAPI document', () => {
  let database: TestDatabase;
  let server: RunningServer;
  let doc: OpenApi;
  let contract: Contract;
  let adminToken: string;
  let idp: TestOidcProvider;

  beforeAll(async () => {
    database = await testDatabase('pglite');
    const packagesDir = join(database.dataDir, 'packages');
    await mkdir(packagesDir);
    await writeFile(join(packagesDir, 'SHA256SUMS'), `${'0'.repeat(64)}  postern-agent_0.1.0_amd64.deb\n`);
    const idpPort = await freePort();
    const oidc = { issuer: `http://127.0.0.1:${idpPort}`, clientId: 'postern', clientSecret: 'postern-client-secret-for-tests', roleClaim: 'groups', roles: new Map([['ops', 'operator' as const]]), scopes: 'openid email groups' };
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: undefined, publicUrl: undefined, trustProxy: false, oidc, settings: { ...settingsFromEnv({}), noncesPerMinute: 4 }, packagesDir }, { log: createLogger('silent') });
    idp = await startOidcProvider({ port: idpPort, redirectUri: `${server.url}/auth/oidc/callback`, people: { 'u-1': { email: 'one@example.com', name: 'One', groups: ['ops'] } } });
    adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    doc = (await response.clone().json()) as OpenApi;
    contract = new Contract(doc);
    await contract.check(response, 'GET', '/openapi.json');
  });
  afterAll(async () => {
    await idp?.close();
    await server?.close().catch(() => undefined);
    await database?.cleanup();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as unknown as Json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it('describes every route registered on the router, with every method it answers', () => {
    const missing: string[] = [];
    const layers = layersOf(createApp(server.backend, { trustProxy: false }));
    expect(layers.length).toBeGreaterThan(20);
    for (const layer of layers) {
      for (const method of layer.methods.filter((m) => DOCUMENTED_METHODS.includes(m))) {
        if (!doc.paths[openApiPath(String(layer.path))]?.[method.toLowerCase()]) missing.push(`${method} ${String(layer.path)}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('answers problem details for an unknown route, a wrong or unknown method and a body too large', async () => {
    const problem = (r: Response) => {
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      return r.json();
    };
    const unknown = await fetch(`${server.url}/v1/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(await problem(unknown)).toEqual({ type: 'urn:postern:problem:not_found', title: 'Not found', status: 404, code: 'not_found', detail: expect.stringMatching(/no route for GET \/v1\/nothing-here/) });
    const wrongMethod = await fetch(`${server.url}/v1/enroll`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toMatch(/POST/);
    expect(await problem(wrongMethod)).toMatchObject({ type: 'urn:postern:problem:method_not_allowed', status: 405, code: 'method_not_allowed' });
    const unimplemented = await send('PROPFIND', `${server.url}/healthz`, {});
    expect(unimplemented.status).toBe(501);
    expect(await problem(unimplemented)).toMatchObject({ type: 'urn:postern:problem:not_implemented', status: 501, code: 'not_implemented' });
    const large = await fetch(`${server.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request: 'x'.repeat(70_000) }) });
    expect(large.status).toBe(413);
    expect(await problem(large)).toMatchObject({ code: 'too_large', title: 'Body too large', status: 413 });
  });

  it('matches what every route really answers, on success and on error', async () => {
    const url = server.url;
    const admin = { authorization: `Bearer ${adminToken}` };
    const json = { 'content-type': 'application/json' };
    const call = (method: string, template: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}) =>
      fetch(`${url}${path}`, { method, headers: { ...init.headers, ...(init.body === undefined ? {} : json) }, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) }).then((r) =>
        contract.check(r, method, template),
      );
    const asAdmin = (method: string, template: string, path: string, body?: unknown) => call(method, template, path, { headers: admin, body });

    await call('GET', '/healthz', '/healthz');
    await call('GET', '/metrics', '/metrics');
    await call('GET', '/.well-known/jwks.json', '/.well-known/jwks.json');

    // Tokens and keys, then an enrolled device that reported over HTTP.
    const T = '/v1/admin/enrollment-tokens';
    const { token } = (await asAdmin('POST', T, T, { group: 'employees', uses: 5 })) as { token: string };
    await asAdmin('POST', T, T, { group: 'no spaces allowed' });
    await call('POST', T, T, { body: { group: 'employees' } });
    const G = '/v1/admin/gateway-keys';
    const { key } = (await asAdmin('POST', G, G, { name: 'contract' })) as { key: string };
    await asAdmin('POST', G, G, { name: '' });
    const revocable = (await asAdmin('POST', G, G, { name: 'revocable' })) as { id: string };
    await asAdmin('GET', G, `${G}?all=1`);
    await asAdmin('GET', G, `${G}?all=yes`);
    await asAdmin('POST', `${G}/{id}/revoke`, `${G}/${revocable.id}/revoke`);
    await asAdmin('POST', `${G}/{id}/revoke`, `${G}/00000000-0000-4000-8000-000000000000/revoke`);
    // Text the database cannot store is refused at the edge of every body, as the client's mistake.
    expect(await asAdmin('POST', G, G, { name: 'edge\u0000' })).toMatchObject({ code: 'malformed', detail: expect.stringMatching(/name contains a NUL character/) });
    expect(await asAdmin('GET', '/v1/admin/audit', '/v1/admin/audit?actor=%00')).toMatchObject({ code: 'malformed' });

    const device = await FakeDevice.create();
    const enrollRequest = async (d: FakeDevice, t: string) => ({ request: await d.enrollmentRequest(t) });
    const E = '/v1/enroll';
    const enrolled = (await call('POST', E, E, { body: await enrollRequest(device, token) })) as { device_id: string };
    device.deviceId = enrolled.device_id;
    await call('POST', E, E, { body: await enrollRequest(await FakeDevice.create(), 'pet_unknown') });

    const { nonce } = (await call('GET', '/v1/nonce', '/v1/nonce')) as { nonce: string };
    const A = '/v1/attestations';
    const result = (await call('POST', A, A, { body: { token: await device.evidence(nonce) } })) as { token: string };
    await call('POST', A, A, { body: { token: await device.evidence(nonce) } }); // the nonce is spent
    // Four nonces a minute from one address here: the fifth is rate_limited.
    for (let i = 0; i < 4; i++) await call('GET', '/v1/nonce', '/v1/nonce');
    await fetch(`${url}${A}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }).then((r) => contract.check(r, 'POST', A));

    const C = '/v1/devices/{id}/compliance';
    await call('GET', C, `/v1/devices/${device.deviceId}/compliance`, { headers: { authorization: `Bearer ${key}` } });
    await call('GET', C, `/v1/devices/${device.deviceId}/compliance`);

    // Forward-auth, for every method a gateway forwards.
    const authz = `${url}/v1/authz`;
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
      const headers = { authorization: `DPoP ${result.token}`, dpop: await device.dpopProof(authz, result.token, { method }) };
      await send(method, authz, headers).then((r) => contract.check(r, method, '/v1/authz'));
      await send(method, authz, headers).then((r) => contract.check(r, method, '/v1/authz')); // the proof is spent
      // As Envoy asks: the original path after /v1/authz (a direct call here, so the proof names this URL).
      const envoy = `${authz}/app/reports`;
      const envoyHeaders = { authorization: `DPoP ${result.token}`, dpop: await device.dpopProof(envoy, result.token, { method }) };
      await send(method, envoy, envoyHeaders).then((r) => contract.check(r, method, '/v1/authz/{path}'));
      await send(method, envoy, envoyHeaders).then((r) => contract.check(r, method, '/v1/authz/{path}'));
    }

    // At capacity, forward-auth answers 429 rate_limited with Retry-After, never a status gateways misread.
    const { dpopJtis } = server.backend.batches;
    const submit = vi.spyOn(dpopJtis, 'submit').mockRejectedValue(new Overloaded('20000 proofs waiting'));
    const overloaded = await send('GET', authz, { authorization: `DPoP ${result.token}`, dpop: await device.dpopProof(authz, result.token) });
    submit.mockRestore();
    expect(overloaded.status).toBe(429);
    expect(overloaded.headers.get('retry-after')).toBe('1');
    expect(await contract.check(overloaded, 'GET', '/v1/authz')).toMatchObject({ code: 'rate_limited', type: 'urn:postern:problem:rate_limited' });

    // The "your device" page: a link for the device's own proof, then the page.
    const ML = '/v1/my-device/links';
    const pageNonce = server.backend.httpNonces.issue(server.backend.now());
    const pageProof = await device.dpopProof(`${url}${ML}`, pageNonce, { method: 'POST' });
    const pageLink = (await call('POST', ML, ML, { headers: { dpop: pageProof }, body: { device_id: device.deviceId, nonce: pageNonce } })) as { url: string };
    await call('POST', ML, ML, { headers: { dpop: pageProof }, body: { device_id: device.deviceId, nonce: pageNonce } }); // the proof is spent
    await call('GET', '/my-device', `${new URL(pageLink.url).pathname}${new URL(pageLink.url).search}`);
    await call('GET', '/my-device', '/my-device?t=not-a-link');

    // Devices.
    const D = '/v1/admin/devices/{id}';
    await asAdmin('GET', '/v1/admin/devices', '/v1/admin/devices');
    await call('GET', '/v1/admin/devices', '/v1/admin/devices');
    await asAdmin('GET', D, `/v1/admin/devices/${device.deviceId}`);
    await asAdmin('GET', D, '/v1/admin/devices/00000000-0000-4000-8000-000000000000');
    await asAdmin('POST', `${D}/group`, `/v1/admin/devices/${device.deviceId}/group`, { group: 'contractros' });
    await asAdmin('POST', `${D}/group`, `/v1/admin/devices/${device.deviceId}/group`, { group: 'contractors', create: true });
    await asAdmin('POST', `${D}/group`, `/v1/admin/devices/${device.deviceId}/group`, {});
    await asAdmin('POST', `${D}/approve`, `/v1/admin/devices/${device.deviceId}/approve`); // not pending
    const pendingToken = (await asAdmin('POST', T, T, { group: 'employees', approval: true })) as { token: string };
    const pending = await FakeDevice.create();
    const { device_id: pendingId } = (await call('POST', E, E, { body: await enrollRequest(pending, pendingToken.token) })) as { device_id: string };
    await asAdmin('POST', `${D}/approve`, `/v1/admin/devices/${pendingId}/approve`);
    await asAdmin('POST', `${D}/deny`, `/v1/admin/devices/${pendingId}/deny`, { reason: 'approved already' }); // not pending
    const denied = (await call('POST', E, E, { body: await enrollRequest(await FakeDevice.create(), ((await asAdmin('POST', T, T, { group: 'employees', approval: true })) as { token: string }).token) })) as { device_id: string };
    await asAdmin('POST', `${D}/deny`, `/v1/admin/devices/${denied.device_id}/deny`, { reason: 'not a company laptop' });
    await asAdmin('POST', `${D}/revoke`, `/v1/admin/devices/${pendingId}/revoke`);
    await asAdmin('POST', `${D}/revoke`, '/v1/admin/devices/not-a-device/revoke');

    // The lifecycle: tokens listed and revoked, end dates, owners, change references, relinks, group rules.
    await asAdmin('GET', T, T);
    await asAdmin('GET', T, `${T}?all=2`);
    const spare = (await asAdmin('POST', T, T, { group: 'employees', owner: 'ops@example.com', change_ref: 'CHG-1' })) as { id: string };
    await asAdmin('POST', `${T}/{id}/revoke`, `${T}/${spare.id}/revoke`);
    await asAdmin('POST', `${T}/{id}/revoke`, `${T}/not-a-token/revoke`);
    await asAdmin('POST', `${D}/extend`, `/v1/admin/devices/${device.deviceId}/extend`, { until: Math.floor(Date.now() / 1000) + 86400 });
    await asAdmin('POST', `${D}/extend`, '/v1/admin/devices/00000000-0000-4000-8000-000000000000/extend', { until: Math.floor(Date.now() / 1000) + 86400 });
    await asAdmin('POST', `${D}/owner`, `/v1/admin/devices/${device.deviceId}/owner`, { owner: 'alice@example.com' });
    await asAdmin('POST', `${D}/owner`, `/v1/admin/devices/${device.deviceId}/owner`, { owner: 'alice' });
    await asAdmin('POST', `${D}/change-ref`, `/v1/admin/devices/${device.deviceId}/change-ref`, { change_ref: 'CHG-2' });
    await asAdmin('POST', `${D}/change-ref`, `/v1/admin/devices/${device.deviceId}/change-ref`, { change_ref: '' });
    const twin = await FakeDevice.create();
    await call('POST', E, E, { body: await enrollRequest(twin, token) });
    const reinstalled = await FakeDevice.create();
    Object.assign(reinstalled, { hostname: twin.hostname });
    const { device_id: reinstalledId } = (await call('POST', E, E, { body: await enrollRequest(reinstalled, token) })) as { device_id: string };
    await asAdmin('POST', `${D}/approve`, `/v1/admin/devices/${reinstalledId}/approve`); // relink_required
    await asAdmin('POST', `${D}/relink`, `/v1/admin/devices/${reinstalledId}/relink`);
    await asAdmin('POST', `${D}/relink`, `/v1/admin/devices/${reinstalledId}/relink`); // not pending any more
    await asAdmin('POST', '/v1/admin/groups/{group}/settings', '/v1/admin/groups/servers/settings', { require_owner: true, max_device_lifetime_s: 86400 });
    await asAdmin('POST', '/v1/admin/groups/{group}/settings', '/v1/admin/groups/servers/settings', { require_owner: 'yes' });
    await asAdmin('POST', T, T, { group: 'servers' }); // group_requirement
    await asAdmin('GET', '/v1/admin/groups', '/v1/admin/groups');
    await call('GET', '/v1/admin/groups', '/v1/admin/groups');

    // A device's own requests about its key and enrollment, each bound to a nonce the server issued.
    const rotating = await FakeDevice.create();
    rotating.deviceId = ((await call('POST', E, E, { body: await enrollRequest(rotating, token) })) as { device_id: string }).device_id;
    const next = await generateKeyPair('ES256', { extractable: true });
    const nextJwk = await exportJWK(next.publicKey);
    const nextKid = await deviceKid(nextJwk);
    const issued = () => server.backend.httpNonces.issue(server.backend.now());
    const iat = () => Math.floor(Date.now() / 1000);
    const signer = new GeneralSign(new TextEncoder().encode(JSON.stringify({ device_id: rotating.deviceId, new_kid: nextKid, nonce: issued(), iat: iat() })));
    signer.addSignature(rotating.privateKey).setProtectedHeader({ alg: 'ES256', typ: KEY_ROTATION_TYP, kid: rotating.kid });
    signer.addSignature(next.privateKey).setProtectedHeader({ alg: 'ES256', typ: KEY_ROTATION_TYP, jwk: nextJwk });
    const dual = await signer.sign();
    const R = '/v1/device/key-rotation';
    const rotation = { request: { payload: dual.payload, signatures: dual.signatures.map((x) => ({ protected: x.protected, signature: x.signature })) } };
    await call('POST', R, R, { body: rotation });
    await call('POST', R, R, { body: rotation }); // the nonce is spent
    const signedBy = async (typ: string, key: CryptoKey, kid: string) => ({
      request: await new CompactSign(new TextEncoder().encode(JSON.stringify({ device_id: rotating.deviceId, nonce: issued(), iat: iat() }))).setProtectedHeader({ alg: 'ES256', typ, kid }).sign(key),
    });
    await call('POST', `${R}/confirm`, `${R}/confirm`, { body: await signedBy(KEY_CONFIRM_TYP, next.privateKey, nextKid) });
    await call('POST', `${R}/confirm`, `${R}/confirm`, { body: await signedBy(KEY_ROTATION_TYP, next.privateKey, nextKid) });
    const U = '/v1/device/unenroll';
    await call('POST', U, U, { body: await signedBy(UNENROLL_TYP, rotating.privateKey, rotating.kid) }); // the old key no longer works
    await call('POST', U, U, { body: await signedBy(UNENROLL_TYP, next.privateKey, nextKid) });

    // Policies.
    const source = 'postern_policy: 1\ngroup: contractors\nchecks:\n  - id: firewall.enabled\n    severity: high\n    weight: 20\n    enforcement: block\n';
    const P = '/v1/admin/policies';
    await asAdmin('POST', `${P}/validate`, `${P}/validate`, { source });
    await asAdmin('POST', `${P}/validate`, `${P}/validate`, { source: 'checks: 3' });
    await asAdmin('POST', `${P}/validate`, `${P}/validate`, { filename: 'no source' });
    await asAdmin('POST', `${P}/diff`, `${P}/diff`, { source });
    await asAdmin('POST', `${P}/diff`, `${P}/diff`, { source: 'postern_policy: 1\nchecks: []\n' });
    await asAdmin('POST', P, P, { source, message: 'contract test' });
    await asAdmin('POST', P, P, { source: source.replace('group: contractors\n', ''), message: 'which group?' });
    await asAdmin('POST', `${P}/{group}/rollback`, `${P}/contractors/rollback`, { version: 1, message: 'back' });
    await asAdmin('POST', `${P}/{group}/rollback`, `${P}/contractors/rollback`, { version: 99, message: 'back' });
    await asAdmin('GET', P, `${P}?group=contractors`);
    await asAdmin('GET', P, `${P}?group=${encodeURIComponent('bad group')}`);
    await asAdmin('GET', `${P}/{group}`, `${P}/contractors?version=1`);
    await asAdmin('GET', `${P}/{group}`, `${P}/contractors?version=0`);
    await asAdmin('GET', `${P}/{group}`, `${P}/nobody`);

    // Exceptions.
    const X = '/v1/admin/devices/{id}/exceptions';
    const until = Math.floor(Date.now() / 1000) + 3600;
    const exception = (await asAdmin('POST', X, `/v1/admin/devices/${device.deviceId}/exceptions`, { check: 'firewall.enabled', until, reason: 'contract test' })) as { id: string };
    await asAdmin('POST', X, `/v1/admin/devices/${device.deviceId}/exceptions`, { check: 'no.such_check', until, reason: 'contract test' });
    await asAdmin('GET', '/v1/admin/exceptions', `/v1/admin/exceptions?device=${device.deviceId}&all=1`);
    await asAdmin('GET', '/v1/admin/exceptions', '/v1/admin/exceptions?device=not-a-uuid');
    await asAdmin('POST', '/v1/admin/exceptions/{id}/revoke', `/v1/admin/exceptions/${exception.id}/revoke`);
    await asAdmin('POST', '/v1/admin/exceptions/{id}/revoke', '/v1/admin/exceptions/00000000-0000-4000-8000-000000000000/revoke');

    // Audit.
    await asAdmin('GET', '/v1/admin/audit', `/v1/admin/audit?device=${device.deviceId}&limit=50`);
    await asAdmin('GET', '/v1/admin/audit', '/v1/admin/audit?limit=0');
    await asAdmin('GET', '/v1/admin/audit/verify', '/v1/admin/audit/verify');

    // The fleet, as the dashboard reads it; the live feed's first frame stands for its open-ended body.
    const F = '/v1/admin/fleet';
    await asAdmin('GET', `${F}/overview`, `${F}/overview?range=24h`);
    await asAdmin('GET', `${F}/overview`, `${F}/overview?range=1y`);
    await asAdmin('GET', `${F}/devices`, `${F}/devices?verdict=compliant,noncompliant&sort=last_seen&limit=2`);
    await asAdmin('GET', `${F}/devices`, `${F}/devices?cursor=garbage`);
    await asAdmin('GET', `${F}/devices.csv`, `${F}/devices.csv?platform=linux`);
    await asAdmin('GET', `${F}/devices.csv`, `${F}/devices.csv?sort=nonsense`);
    await asAdmin('GET', `${F}/devices/{id}`, `${F}/devices/${device.deviceId}`);
    await asAdmin('GET', `${F}/devices/{id}`, `${F}/devices/not-a-device`);
    const live = new AbortController();
    const feed = await fetch(`${url}${F}/events?after=0`, { headers: admin, signal: live.signal });
    const firstFrame = await feed.body?.getReader().read();
    live.abort();
    await contract.check(new Response(firstFrame?.value ?? null, { status: feed.status, headers: feed.headers }), 'GET', `${F}/events`);
    await asAdmin('GET', `${F}/events`, `${F}/events?after=-1`);

    // Admin accounts, their tokens, and signing a browser in.
    const M = '/v1/admin/admins';
    await asAdmin('POST', M, M, { name: 'vera', role: 'viewer', email: 'vera@example.com' });
    await asAdmin('POST', M, M, { name: 'vera', role: 'viewer' });
    await asAdmin('GET', M, M);
    await call('GET', M, M);
    await asAdmin('POST', `${M}/{name}/role`, `${M}/vera/role`, { role: 'operator' });
    await asAdmin('POST', `${M}/{name}/role`, `${M}/nobody/role`, { role: 'operator' });
    const { token: veraToken } = (await asAdmin('POST', `${M}/{name}/tokens`, `${M}/vera/tokens`, { name: 'laptop' })) as { token: string };
    await asAdmin('POST', `${M}/{name}/tokens`, `${M}/nobody/tokens`, {});
    // An operator may not change policy.
    expect(await call('POST', P, P, { headers: { authorization: `Bearer ${veraToken}` }, body: { source, message: 'not mine to change' } })).toMatchObject({ code: 'insufficient_role' });
    await asAdmin('POST', `${M}/{name}/disable`, `${M}/vera/disable`);
    await asAdmin('POST', `${M}/{name}/disable`, `${M}/initial/disable`); // the last admin
    await asAdmin('POST', `${M}/{name}/enable`, `${M}/vera/enable`);
    await asAdmin('POST', `${M}/{name}/enable`, `${M}/nobody/enable`);
    const L = '/v1/admin/sign-in-links';
    const link = (await asAdmin('POST', L, L, { next: '/devices' })) as { url: string };
    await asAdmin('POST', L, L, { next: '//elsewhere.example' });
    const redeem = (path: string) => fetch(`${url}${path}`, { redirect: 'manual' });
    // GET answers the page whose form spends the link with a POST.
    await contract.check(await redeem(new URL(link.url).pathname + new URL(link.url).search), 'GET', '/auth/link');
    await contract.check(await fetch(`${url}/auth/link.js`), 'GET', '/auth/link.js');
    const spend = () => fetch(`${url}/auth/link`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url }, body: new URLSearchParams({ t: new URL(link.url).searchParams.get('t') ?? '' }) });
    const signedIn = await spend();
    const cookie = (signedIn.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    await contract.check(signedIn, 'POST', '/auth/link');
    await contract.check(await spend(), 'POST', '/auth/link'); // spent
    await contract.check(await redeem(new URL(link.url).pathname + new URL(link.url).search), 'GET', '/auth/link'); // spent
    const { csrf } = (await call('GET', '/v1/admin/session', '/v1/admin/session', { headers: { cookie } })) as { csrf: string };
    await call('GET', '/v1/admin/session', '/v1/admin/session');
    await call('POST', '/auth/sign-out', '/auth/sign-out', { headers: { cookie } });
    await call('POST', '/auth/sign-out', '/auth/sign-out', { headers: { cookie, 'x-csrf-token': csrf } });

    // OpenID Connect: a whole sign-in through the provider, then a callback without its browser's state.
    idp.signsInNext('u-1');
    const hops = await new Browser().visit(`${url}/auth/oidc/start?next=%2F`);
    for (const hop of hops.filter((h) => h.url.startsWith(`${url}/auth/oidc/`))) {
      await contract.check(new Response(hop.body, { status: hop.response.status, headers: hop.response.headers }), 'GET', new URL(hop.url).pathname);
    }
    await contract.check(await redeem('/auth/oidc/start?next=%2F%2Felsewhere'), 'GET', '/auth/oidc/start');
    await contract.check(await redeem('/auth/oidc/callback?state=forged&code=x'), 'GET', '/auth/oidc/callback');

    // The event stream: everything above, in order, each event of its own type's shape.
    const stream = (await asAdmin('GET', '/v1/admin/events', '/v1/admin/events?limit=1000')) as { events: Array<{ type: string }> };
    expect(stream.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'device.enrolled', 'device.approved', 'device.denied', 'device.revoked', 'device.verdict_changed', 'device.group_changed', 'policy.applied', 'exception.granted', 'exception.ended',
        'device.extended', 'device.owner_changed', 'device.change_ref_changed', 'device.relinked', 'device.key_rotation_started', 'device.key_rotated',
      ]),
    );
    await asAdmin('GET', '/v1/admin/events', '/v1/admin/events?type=no.such_type');
    await call('GET', '/v1/admin/audit/verify', '/v1/admin/audit/verify');

    // Shared Signals: discovery, then a receiver (a gateway key with the ssf scope) managing a poll stream.
    await call('GET', '/.well-known/ssf-configuration', '/.well-known/ssf-configuration');
    await call('GET', '/ssf/jwks.json', '/ssf/jwks.json');
    const { key: ssfKey } = (await asAdmin('POST', G, G, { name: 'receiver', scopes: ['ssf'] })) as { key: string };
    const asReceiver = (method: string, template: string, path: string, body?: unknown) => call(method, template, path, { headers: { authorization: `Bearer ${ssfKey}` }, body });
    const S = '/ssf/streams';
    const nobody = '00000000-0000-4000-8000-000000000000';
    const ssfStream = (await asReceiver('POST', S, S, { delivery: { method: 'urn:ietf:rfc:8936' }, description: 'contract' })) as { stream_id: string };
    await asReceiver('POST', S, S, { delivery: { method: 'urn:ietf:rfc:8935' } });
    expect(await call('POST', S, S, { headers: { authorization: `Bearer ${key}` }, body: {} })).toMatchObject({ code: 'insufficient_scope' });
    await asReceiver('GET', S, S);
    await asReceiver('GET', S, `${S}?stream_id=${ssfStream.stream_id}`);
    await asReceiver('GET', S, `${S}?stream_id=${nobody}`);
    await asReceiver('PATCH', S, S, { stream_id: ssfStream.stream_id, description: 'patched' });
    await asReceiver('PATCH', S, S, { description: 'no stream_id' });
    await asReceiver('PUT', S, S, { stream_id: ssfStream.stream_id, delivery: { method: 'urn:ietf:rfc:8936' } });
    await asReceiver('PUT', S, S, { stream_id: ssfStream.stream_id, delivery: { method: 'carrier-pigeon' } });
    await asReceiver('GET', '/ssf/status', `/ssf/status?stream_id=${ssfStream.stream_id}`);
    await asReceiver('GET', '/ssf/status', '/ssf/status');
    await asReceiver('POST', '/ssf/status', '/ssf/status', { stream_id: ssfStream.stream_id, status: 'paused', reason: 'contract' });
    await asReceiver('POST', '/ssf/status', '/ssf/status', { stream_id: ssfStream.stream_id, status: 'asleep' });
    await asReceiver('POST', '/ssf/status', '/ssf/status', { stream_id: ssfStream.stream_id, status: 'enabled' });
    const subject = { format: 'opaque', id: device.deviceId };
    await asReceiver('POST', '/ssf/subjects/add', '/ssf/subjects/add', { stream_id: ssfStream.stream_id, subject });
    await asReceiver('POST', '/ssf/subjects/add', '/ssf/subjects/add', { stream_id: ssfStream.stream_id, subject: { format: 'phone_number', phone_number: '+15550100' } });
    await asReceiver('POST', '/ssf/subjects/remove', '/ssf/subjects/remove', { stream_id: ssfStream.stream_id, subject });
    await asReceiver('POST', '/ssf/subjects/remove', '/ssf/subjects/remove', { stream_id: nobody, subject });
    await asReceiver('POST', '/ssf/verify', '/ssf/verify', { stream_id: ssfStream.stream_id, state: 'contract' });
    await asReceiver('POST', '/ssf/verify', '/ssf/verify', { state: 'no stream_id' });
    const polled = (await asReceiver('POST', '/ssf/poll/{id}', `/ssf/poll/${ssfStream.stream_id}`, { maxEvents: 10 })) as { sets: Record<string, string> };
    expect(Object.keys(polled.sets)).toHaveLength(1);
    await asReceiver('POST', '/ssf/poll/{id}', `/ssf/poll/${ssfStream.stream_id}`, { maxEvents: -1 });
    // Every receiver's streams, as admins see them; without a credential, refused.
    expect(await asAdmin('GET', '/v1/admin/ssf/streams', '/v1/admin/ssf/streams')).toMatchObject({ streams: [expect.objectContaining({ stream_id: ssfStream.stream_id, receiver: 'receiver' })] });
    expect(await call('GET', '/v1/admin/ssf/streams', '/v1/admin/ssf/streams')).toMatchObject({ code: 'unauthorized' });
    await asReceiver('DELETE', S, `${S}?stream_id=${ssfStream.stream_id}`);
    await asReceiver('DELETE', S, `${S}?stream_id=${ssfStream.stream_id}`);
    // Installers, each defaulting to this server, and the packages they fetch.
    for (const name of ['linux.sh', 'macos.sh', 'windows.ps1']) expect(await call('GET', `/install/${name}`, `/install/${name}`)).toContain(`'${url}'`);
    await asAdmin('GET', '/v1/admin/install-lines', '/v1/admin/install-lines');
    expect(await call('GET', '/v1/admin/install-lines', '/v1/admin/install-lines')).toMatchObject({ code: 'unauthorized' });
    const ART = '/install/artefacts/{file}';
    expect(await call('GET', ART, '/install/artefacts/SHA256SUMS')).toMatch(/^0{64} {2}postern-agent_0\.1\.0_amd64\.deb$/m);
    expect(await call('GET', ART, '/install/artefacts/postern-agent_9.9.9_amd64.deb')).toMatchObject({ code: 'not_found' });
    expect(await call('GET', ART, '/install/artefacts/.SHA256SUMS')).toMatchObject({ code: 'malformed' });

    // Last: without a database, health says so and a route that reads it fails without echoing why.
    await server.store.db.destroy();
    await call('GET', '/healthz', '/healthz');
    const failed = (await call('GET', C, `/v1/devices/${device.deviceId}/compliance`, { headers: { authorization: `Bearer ${key}` } })) as { code: string; detail: string };
    expect(failed).toMatchObject({ code: 'internal', detail: 'the server failed to handle this request; see its log' });

    const unexercised = Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.keys(item).flatMap((m) => {
        const op = `${m.toUpperCase()} ${template}`;
        const seen = contract.seen.get(op) ?? new Set();
        return [...(seen.has('success') ? [] : [`${op} (success)`]), ...(seen.has('error') || NO_ERROR_POSSIBLE.has(op) ? [] : [`${op} (error)`])];
      }),
    );
    expect(unexercised).toEqual([]);
  });

});

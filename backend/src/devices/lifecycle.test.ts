import { readFile } from 'node:fs/promises';
import { CompactSign, exportJWK, generateKeyPair, GeneralSign } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deviceKid, KEY_CONFIRM_TYP, KEY_ROTATION_TYP, UNENROLL_TYP } from '@postern/shared';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { verifyAuditChain } from '../audit/verify.js';
import { decide } from '../decisions/decide.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

describe.each(databaseKinds)('the device lifecycle on %s', (kind) => {
  let database: TestDatabase;
  let server: RunningServer;
  let adminToken: string;
  let clock = Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    clock = Math.floor(Date.now() / 1000);
    database = await testDatabase(kind);
    server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false, settings: { ...(await import('../config.js')).settingsFromEnv({}), pendingExpiryS: 3600 } },
      { log: createLogger('silent'), now: () => clock },
    );
    adminToken = (await readFile(server.adminTokenPath, 'utf8')).trim();
  });
  afterEach(async () => {
    await server.close();
    await database.cleanup();
  });

  async function call<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown, auth = true): Promise<{ status: number; body: T }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(auth ? { authorization: `Bearer ${adminToken}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  }
  const token = async (spec: Record<string, unknown> = {}) => (await call<{ token: string; id: string }>('POST', '/v1/admin/enrollment-tokens', { group: 'employees', ...spec })).body;
  const events = (deviceId: string) => server.store.db.selectFrom('events').select(['type', 'actor', 'data']).where('device_id', '=', deviceId).orderBy('seq').execute();
  const enrolled = async (spec: Record<string, unknown> = {}) => {
    const device = await FakeDevice.create();
    const answer = await device.enroll(server.url, (await token(spec)).token);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return device;
  };

  it('lists tokens without their secret, revokes one (audited), and a revoked token cannot enroll', async () => {
    const made = await token({ owner: 'ops@example.com', change_ref: 'CHG-7', uses: 3, device_ttl_s: 3600, approval: true });
    const listed = await call<{ tokens: Array<Record<string, unknown>> }>('GET', '/v1/admin/enrollment-tokens');
    expect(listed.body.tokens).toEqual([
      expect.objectContaining({ id: made.id, group: 'employees', owner: 'ops@example.com', change_ref: 'CHG-7', uses_left: 3, max_uses: 3, device_ttl_s: 3600, approval: true, created_by: 'admin:initial', revoked_at: null, state: 'usable' }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(made.token);
    expect(JSON.stringify(listed.body)).not.toMatch(/hash/);

    expect((await call('POST', `/v1/admin/enrollment-tokens/${made.id}/revoke`)).body).toMatchObject({ id: made.id, state: 'revoked', revoked_by: 'admin:initial', revoked_at: clock });
    const refused = await (await FakeDevice.create()).enroll(server.url, made.token);
    expect(refused).toMatchObject({ status: 401, body: { code: 'token_revoked', detail: expect.stringMatching(/^this enrollment token was revoked at .*: ask your administrator for a new one$/) } });
    expect((await call<{ tokens: unknown[] }>('GET', '/v1/admin/enrollment-tokens')).body.tokens).toEqual([]);
    expect((await call<{ tokens: unknown[] }>('GET', '/v1/admin/enrollment-tokens?all=1')).body.tokens).toHaveLength(1);
    expect((await call('POST', '/v1/admin/enrollment-tokens/00000000-0000-4000-8000-000000000000/revoke')).body).toMatchObject({ code: 'unknown_token' });
    const audit = await server.store.db.selectFrom('audit_log').select(['kind', 'actor', 'detail']).where('kind', '=', 'enrollment_token.revoked').execute();
    expect(audit).toEqual([{ kind: 'enrollment_token.revoked', actor: 'admin:initial', detail: { token_id: made.id, group: 'employees', uses: 0, max_uses: 3 } }]);
  });

  it('denies only with a reason, recorded with the actor; a pending device nobody decides on is revoked when its time is up', async () => {
    const denied = await enrolled({ approval: true });
    expect((await call('POST', `/v1/admin/devices/${denied.deviceId}/deny`, {})).body).toMatchObject({ code: 'malformed', detail: expect.stringMatching(/reason/) });
    expect((await call('POST', `/v1/admin/devices/${denied.deviceId}/deny`, { reason: 'not a company laptop' })).body).toMatchObject({ status: 'revoked', pending_until: null });
    expect((await events(denied.deviceId)).find((e) => e.type === 'device.denied')).toEqual({ type: 'device.denied', actor: 'admin:initial', data: { reason: 'not a company laptop' } });

    const forgotten = await enrolled({ approval: true });
    const view = (await call<{ pending_until: number }>('GET', `/v1/admin/devices/${forgotten.deviceId}`)).body;
    expect(view.pending_until).toBe(clock + 3600);
    expect((await server.store.db.selectFrom('device_standing').select('next_change_at').where('device_id', '=', forgotten.deviceId).executeTakeFirstOrThrow()).next_change_at).toEqual(new Date((clock + 3600) * 1000));
    clock += 3599;
    await server.sweep();
    expect((await decide(server.store.db, forgotten.deviceId))?.verdict).toBe('pending');
    clock += 1;
    await server.sweep();
    await server.sweep();
    expect(await decide(server.store.db, forgotten.deviceId)).toMatchObject({ verdict: 'revoked', device: { status: 'revoked' } });
    expect((await events(forgotten.deviceId)).map((e) => [e.type, e.actor, e.data.reason ?? e.data.to ?? null])).toEqual([
      ['device.enrolled', expect.stringMatching(/^token:/), null],
      ['device.revoked', 'postern', 'pending_expired'],
      ['device.verdict_changed', 'postern', 'revoked'],
    ]);
    const again = await forgotten.connect(server.url);
    expect(await again.attest(await forgotten.evidence(again.nonce, { iat: clock }))).toMatchObject({ type: 'error', code: 'revoked' });
  });

  it("extends an active device's end within its group's maximum lifetime, and an ended device stays ended", async () => {
    expect((await call('POST', '/v1/admin/groups/contractors/settings', { max_device_lifetime_s: 30 * 86400 })).body).toEqual({ group: 'contractors', max_device_lifetime_s: 30 * 86400, require_owner: false, require_change_ref: false });
    expect((await call('POST', '/v1/admin/enrollment-tokens', { group: 'contractors' })).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/at most 2592000 s of access: give a device TTL/) });
    expect((await call('POST', '/v1/admin/enrollment-tokens', { group: 'contractors', device_ttl_s: 31 * 86400 })).body).toMatchObject({ code: 'group_requirement' });
    const device = await enrolled({ group: 'contractors', device_ttl_s: 86400 });

    const until = clock + 20 * 86400;
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/extend`, { until, reason: 'contract renewed' })).body).toMatchObject({ expires_at: until, status: 'active', verdict: 'unknown' });
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/extend`, { until: clock + 40 * 86400 })).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/choose an end before/) });
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/extend`, { until: clock - 1 })).body).toMatchObject({ code: 'malformed', detail: expect.stringMatching(/not in the future/) });
    expect((await events(device.deviceId)).filter((e) => e.type === 'device.extended')).toEqual([{ type: 'device.extended', actor: 'admin:initial', data: { from: clock + 86400, to: until, note: 'contract renewed' } }]);
    expect((await server.store.db.selectFrom('device_standing').select('next_change_at').where('device_id', '=', device.deviceId).executeTakeFirstOrThrow()).next_change_at).toEqual(new Date(until * 1000));

    clock = until;
    await server.sweep();
    expect((await decide(server.store.db, device.deviceId))?.verdict).toBe('revoked');
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/extend`, { until: clock + 86400 })).body).toMatchObject({ code: 'enrollment_ended', detail: expect.stringMatching(/an ended enrollment stays ended/) });
  });

  it("moves a device into a group only when it already meets the group's rules", async () => {
    await call('POST', '/v1/admin/groups/servers/settings', { require_owner: true, require_change_ref: true, max_device_lifetime_s: 30 * 86400 });
    const device = await enrolled({ group: 'employees' });
    const move = () => call('POST', `/v1/admin/devices/${device.deviceId}/group`, { group: 'servers', create: true });
    expect((await move()).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/requires an owner, and device .* has none: set one first/) });
    await call('POST', `/v1/admin/devices/${device.deviceId}/owner`, { owner: 'ops@example.com' });
    expect((await move()).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/change reference/) });
    await call('POST', `/v1/admin/devices/${device.deviceId}/change-ref`, { change_ref: 'CHG-9' });
    expect((await move()).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/access never ends: give it an end first/) });
    await call('POST', `/v1/admin/devices/${device.deviceId}/extend`, { until: clock + 40 * 86400 });
    expect((await move()).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/give it an earlier end first/) });
    expect((await events(device.deviceId)).some((e) => e.type === 'device.group_changed')).toBe(false);
    await call('POST', `/v1/admin/devices/${device.deviceId}/extend`, { until: clock + 20 * 86400 });
    expect((await move()).body).toMatchObject({ group: 'servers' });
    expect((await events(device.deviceId)).filter((e) => e.type === 'device.group_changed')).toEqual([{ type: 'device.group_changed', actor: 'admin:initial', data: { from: 'employees', to: 'servers' } }]);
  });

  it('requires an owner email and a change reference where the group says so, keeps both on the device, and changes them audited', async () => {
    await call('POST', '/v1/admin/groups/servers/settings', { require_owner: true, require_change_ref: true });
    expect((await call('POST', '/v1/admin/enrollment-tokens', { group: 'servers', change_ref: 'CHG-1' })).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/requires an owner/) });
    expect((await call('POST', '/v1/admin/enrollment-tokens', { group: 'servers', owner: 'the ops team', change_ref: 'CHG-1' })).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/is not one/) });
    expect((await call('POST', '/v1/admin/enrollment-tokens', { group: 'servers', owner: 'ops@example.com' })).body).toMatchObject({ code: 'group_requirement', detail: expect.stringMatching(/change reference/) });
    const device = await enrolled({ group: 'servers', owner: 'ops@example.com', change_ref: 'CHG-123' });
    expect((await call('GET', `/v1/admin/devices/${device.deviceId}`)).body).toMatchObject({ owner: 'ops@example.com', change_ref: 'CHG-123' });
    expect((await call<{ devices: Array<Record<string, unknown>> }>('GET', '/v1/admin/devices')).body.devices[0]).toMatchObject({ owner: 'ops@example.com', change_ref: 'CHG-123' });

    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/owner`, { owner: 'dba@example.com' })).body).toMatchObject({ owner: 'dba@example.com' });
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/owner`, { owner: 'not an email' })).body).toMatchObject({ code: 'malformed' });
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/change-ref`, { change_ref: 'CHG-456' })).body).toMatchObject({ change_ref: 'CHG-456' });
    expect((await call('POST', `/v1/admin/devices/${device.deviceId}/change-ref`, { change_ref: 'CHG-456' })).body).toMatchObject({ change_ref: 'CHG-456' });
    const changes = (await events(device.deviceId)).filter((e) => e.type.endsWith('_changed') && e.type !== 'device.verdict_changed');
    expect(changes).toEqual([
      { type: 'device.owner_changed', actor: 'admin:initial', data: { from: 'ops@example.com', to: 'dba@example.com' } },
      { type: 'device.change_ref_changed', actor: 'admin:initial', data: { from: 'CHG-123', to: 'CHG-456' } },
    ]);
    expect((await call<{ groups: unknown[] }>('GET', '/v1/admin/groups')).body.groups).toEqual([{ group: 'servers', max_device_lifetime_s: null, require_owner: true, require_change_ref: true }]);
  });

  it('keeps the reason an admin gives for approving, revoking or moving a device in its event, and none when none was given', async () => {
    const approved = await enrolled({ approval: true });
    expect((await call('POST', `/v1/admin/devices/${approved.deviceId}/approve`, { reason: 'asset tag checked' })).body).toMatchObject({ status: 'active' });
    expect((await call('POST', `/v1/admin/devices/${approved.deviceId}/group`, { group: 'contractors', create: true, reason: 'joined the project' })).body).toMatchObject({ group: 'contractors' });
    expect((await call('POST', `/v1/admin/devices/${approved.deviceId}/revoke`, { reason: '' })).body).toMatchObject({ code: 'malformed' });
    expect((await call('POST', `/v1/admin/devices/${approved.deviceId}/revoke`, { reason: 'laptop stolen' })).body).toMatchObject({ status: 'revoked' });
    const plain = await enrolled();
    expect((await call('POST', `/v1/admin/devices/${plain.deviceId}/revoke`)).body).toMatchObject({ status: 'revoked' });
    const mine = (await events(approved.deviceId)).filter((e) => ['device.approved', 'device.group_changed', 'device.revoked'].includes(e.type));
    expect(mine.map((e) => e.data)).toEqual([
      { from: 'pending_approval', to: 'active', note: 'asset tag checked' },
      { from: 'employees', to: 'contractors', note: 'joined the project' },
      { reason: 'admin', from: 'active', note: 'laptop stolen' },
    ]);
    expect((await events(plain.deviceId)).find((e) => e.type === 'device.revoked')?.data).toEqual({ reason: 'admin', from: 'active' });
  });

  it('holds a second enrollment of a still-enrolled machine pending until relinked, then revokes the old device (reason relinked)', async () => {
    const old = await enrolled({ owner: 'ops@example.com', change_ref: 'CHG-3' });
    const reinstalled = await FakeDevice.create();
    Object.assign(reinstalled, { hostname: old.hostname }); // the same machine id, a new key
    const answer = await reinstalled.enroll(server.url, (await token()).token);
    expect(answer).toMatchObject({ status: 201, body: { status: 'pending_approval', relink_of: old.deviceId } });
    expect((await call('POST', `/v1/admin/devices/${reinstalled.deviceId}/approve`)).body).toMatchObject({ code: 'relink_required', detail: expect.stringMatching(/device relink/) });
    expect((await call('POST', `/v1/admin/devices/${old.deviceId}/relink`)).body).toMatchObject({ code: 'not_pending' });

    const { session } = await old.report(server.url);
    const relinked = await call<{ device: Record<string, unknown>; replaced: Record<string, unknown> }>('POST', `/v1/admin/devices/${reinstalled.deviceId}/relink`);
    expect(relinked.body).toMatchObject({ device: { device_id: reinstalled.deviceId, status: 'active', relink_of: old.deviceId, owner: 'ops@example.com', change_ref: 'CHG-3' }, replaced: { device_id: old.deviceId, status: 'revoked' } });
    expect(await session.next(5000)).toMatchObject({ type: 'error', code: 'revoked', message: expect.stringMatching(/replaced by a new enrollment/) });
    expect((await events(old.deviceId)).find((e) => e.type === 'device.revoked')).toEqual({ type: 'device.revoked', actor: 'admin:initial', data: { reason: 'relinked', from: 'active', replaced_by: reinstalled.deviceId } });
    expect((await events(reinstalled.deviceId)).map((e) => e.type)).toEqual(['device.enrolled', 'device.relinked', 'device.owner_changed', 'device.change_ref_changed', 'device.verdict_changed']);
    expect((await reinstalled.report(server.url)).answer).toMatchObject({ type: 'result' });
    expect((await verifyAuditChain(server.store.db)).ok).toBe(true);
  });

  it('rotates a key with a request signed by both keys and a confirmation by the new one; the old key then stops working', async () => {
    const device = await enrolled();
    const { session } = await device.report(server.url);
    const next = await generateKeyPair('ES256', { extractable: true });
    const nextJwk = await exportJWK(next.publicKey);
    const nextKid = await deviceKid(nextJwk);
    const nonce = async () => (await call<{ nonce: string }>('GET', '/v1/nonce', undefined, false)).body.nonce;
    const startRequest = async () => {
      const signer = new GeneralSign(new TextEncoder().encode(JSON.stringify({ device_id: device.deviceId, new_kid: nextKid, nonce: await nonce(), iat: clock })));
      signer.addSignature(device.privateKey).setProtectedHeader({ alg: 'ES256', typ: KEY_ROTATION_TYP, kid: device.kid });
      signer.addSignature(next.privateKey).setProtectedHeader({ alg: 'ES256', typ: KEY_ROTATION_TYP, jwk: nextJwk });
      const jws = await signer.sign();
      return { request: { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) } };
    };
    const compact = async (typ: string, key: CryptoKey, kid: string) => ({
      request: await new CompactSign(new TextEncoder().encode(JSON.stringify({ device_id: device.deviceId, nonce: await nonce(), iat: clock }))).setProtectedHeader({ alg: 'ES256', typ, kid }).sign(key),
    });

    // A confirmation before any start finds no rotation.
    expect((await call('POST', '/v1/device/key-rotation/confirm', await compact(KEY_CONFIRM_TYP, next.privateKey, nextKid), false)).body).toMatchObject({ code: 'unknown_key' });
    const started = await call('POST', '/v1/device/key-rotation', await startRequest(), false);
    expect(started).toMatchObject({ status: 200, body: { device_id: device.deviceId, pending_kid: nextKid, started_at: clock } });
    // Asked again (an agent killed before it read the answer): nothing new happens.
    expect((await call('POST', '/v1/device/key-rotation', await startRequest(), false)).body).toMatchObject({ pending_kid: nextKid });
    // A nonce is spent once.
    const replay = await startRequest();
    await call('POST', '/v1/device/key-rotation', replay, false);
    expect((await call('POST', '/v1/device/key-rotation', replay, false)).body).toMatchObject({ code: 'stale_nonce' });
    // Until confirmed, the enrolled key keeps working.
    expect((await call('GET', `/v1/admin/devices/${device.deviceId}`)).body).toMatchObject({ kid: device.kid, pending_kid: nextKid });
    const beforeConfirm = await device.connect(server.url);
    expect(await beforeConfirm.attest(await device.evidence(beforeConfirm.nonce))).toMatchObject({ type: 'result' });

    const confirmed = await call('POST', '/v1/device/key-rotation/confirm', await compact(KEY_CONFIRM_TYP, next.privateKey, nextKid), false);
    expect(confirmed).toMatchObject({ status: 200, body: { device_id: device.deviceId, kid: nextKid, rotated_at: clock } });
    expect((await call('POST', '/v1/device/key-rotation/confirm', await compact(KEY_CONFIRM_TYP, next.privateKey, nextKid), false)).body).toMatchObject({ kid: nextKid });
    // Streams opened with the old key are closed; the old key opens no new one.
    expect((await session.closed).code).toBe(4401);
    const old = await device.connect(server.url);
    expect(await old.attest(await device.evidence(old.nonce))).toMatchObject({ type: 'error', code: 'unknown_key' });
    const fresh = await device.connect(server.url);
    expect(await fresh.attest(await device.evidence(fresh.nonce, { header: { kid: nextKid }, signWith: next.privateKey }))).toMatchObject({ type: 'result' });
    fresh.close();
    expect((await events(device.deviceId)).filter((e) => e.type.startsWith('device.key_'))).toEqual([
      { type: 'device.key_rotation_started', actor: `device:${device.deviceId}`, data: { kid: device.kid, pending_kid: nextKid } },
      { type: 'device.key_rotated', actor: `device:${device.deviceId}`, data: { from_kid: device.kid, to_kid: nextKid } },
    ]);

    // Unenrolling, signed with the current key: the device is revoked at its own request.
    expect((await call('POST', '/v1/device/unenroll', await compact(UNENROLL_TYP, device.privateKey, device.kid), false)).body).toMatchObject({ code: 'unknown_key' });
    expect((await call('POST', '/v1/device/unenroll', await compact(UNENROLL_TYP, next.privateKey, nextKid), false)).body).toEqual({ device_id: device.deviceId, status: 'revoked' });
    expect((await events(device.deviceId)).find((e) => e.type === 'device.revoked')).toEqual({ type: 'device.revoked', actor: `device:${device.deviceId}`, data: { reason: 'unenrolled', from: 'active' } });
    expect((await call('POST', '/v1/device/key-rotation', await startRequest(), false)).body).toMatchObject({ code: 'unknown_key' });
  });
});

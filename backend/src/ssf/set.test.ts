import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../events/types.js';
import { EVENT } from './event-types.js';
import { caepEventsFor, signSet, verificationEvent } from './set.js';
import type { SsfKeys } from './signing-key.js';
import { isEmail, streamWants, subIdFor, subjectKey } from './subjects.js';

const DEVICE = '5f0c7b52-9a7e-4d0e-8a53-2b1f7c7a0d11';
const alice = { deviceId: DEVICE, email: 'alice@example.com' };

function verdictChanged(data: Partial<Extract<StreamEvent, { type: 'device.verdict_changed' }>['data']>): StreamEvent {
  return {
    seq: 42,
    at: 1_790_000_000,
    type: 'device.verdict_changed',
    actor: 'device:x',
    device_id: DEVICE,
    data: { from: 'compliant', to: 'noncompliant', score: 75, failing: ['firewall.enabled'], cause: 'report', policy: 'default@1', ...data },
  };
}

describe('the CAEP events a stream event makes', () => {
  it('turns a verdict change into a device-compliance-change naming the failing checks', () => {
    expect(caepEventsFor(verdictChanged({}), alice)).toEqual([
      {
        type: EVENT.deviceComplianceChange,
        txn: 'postern:event:42',
        seq: 42,
        subject: { format: 'complex', device: { format: 'opaque', id: DEVICE }, user: { format: 'email', email: 'alice@example.com' } },
        body: { current_status: 'not-compliant', previous_status: 'compliant', event_timestamp: 1_790_000_000, initiating_entity: 'system', reason_admin: { en: expect.stringContaining('failing checks: firewall.enabled') } },
      },
    ]);
  });

  it.each([
    ['policy', 'policy'],
    ['admin', 'admin'],
    ['exception', 'admin'],
    ['group', 'admin'],
    ['time', 'system'],
    ['report', 'system'],
  ] as const)('names a change caused by %s as initiated by %s', (cause, entity) => {
    expect(caepEventsFor(verdictChanged({ cause }), alice)[0]?.body.initiating_entity).toBe(entity);
  });

  it('counts grace as compliant and a first verdict as a change from not compliant', () => {
    expect(caepEventsFor(verdictChanged({ from: null, to: 'grace', failing: [] }), alice)[0]?.body).toMatchObject({ current_status: 'compliant', previous_status: 'not-compliant', reason_admin: { en: expect.stringContaining('every check passes') } });
    expect(caepEventsFor(verdictChanged({ from: 'unknown', to: 'revoked' }), alice)[0]?.body).toMatchObject({ current_status: 'not-compliant', previous_status: 'not-compliant' });
  });

  it('turns a revocation into session-revoked, by an admin or by expiry', () => {
    const revoked = (reason: 'admin' | 'expired'): StreamEvent => ({ seq: 7, at: 1_790_000_100, type: 'device.revoked', actor: reason === 'admin' ? 'admin:initial' : 'postern', device_id: DEVICE, data: { reason } });
    expect(caepEventsFor(revoked('admin'), alice)).toEqual([expect.objectContaining({ type: EVENT.sessionRevoked, body: { event_timestamp: 1_790_000_100, initiating_entity: 'admin', reason_admin: { en: 'device revoked by admin:initial' } } })]);
    expect(caepEventsFor(revoked('expired'), alice)[0]?.body).toMatchObject({ initiating_entity: 'system', reason_admin: { en: 'device enrollment expired' } });
  });

  it('makes nothing of other events', () => {
    expect(caepEventsFor({ seq: 1, at: 1, type: 'device.group_changed', actor: 'admin:x', device_id: DEVICE, data: { from: 'a', to: 'b' } }, alice)).toEqual([]);
  });

  it('names the user only when the owner is an email address', () => {
    expect(isEmail('bob')).toBe(false);
    expect(subIdFor({ deviceId: DEVICE, email: null })).toEqual({ format: 'complex', device: { format: 'opaque', id: DEVICE } });
  });
});

describe('a signed SET', () => {
  it('is RS256 with typ secevent+jwt and kid, carries iss, aud, jti, iat, txn, sub_id and one event, and no sub or exp', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const keys: SsfKeys = { kid: 'k1', privateKey: (await importJWK(await exportJWK(privateKey), 'RS256')) as CryptoKey, jwks: { keys: [] } };
    const event = caepEventsFor(verdictChanged({}), alice)[0];
    if (!event) throw new Error('no event');
    const { jti, jwt } = await signSet(keys, { issuer: 'https://postern.example.com', audience: ['https://idp.example.com'], event, now: 1_790_000_005 });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS256', typ: 'secevent+jwt', kid: 'k1' });
    const { payload } = await jwtVerify(jwt, publicKey, { issuer: 'https://postern.example.com', audience: 'https://idp.example.com', typ: 'secevent+jwt', algorithms: ['RS256'] });
    expect(payload).toEqual({ iss: 'https://postern.example.com', aud: 'https://idp.example.com', jti, iat: 1_790_000_005, txn: 'postern:event:42', sub_id: event.subject, events: { [EVENT.deviceComplianceChange]: event.body } });
    const two = await signSet(keys, { issuer: 'i', audience: ['a', 'b'], event: verificationEvent('s1', 'st'), now: 1 });
    const decoded = JSON.parse(Buffer.from(two.jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(decoded).toMatchObject({ aud: ['a', 'b'], sub_id: { format: 'opaque', id: 's1' }, events: { [EVENT.verification]: { state: 'st' } } });
    expect(two.jti).not.toBe(jti);
  });
});

describe('which devices a stream wants', () => {
  const bob = { deviceId: 'other-device', email: null };
  it('wants every device until a subject is added, then only added ones; never a removed one', () => {
    expect(streamWants({ added: [], removed: [] }, alice)).toBe(true);
    expect(streamWants({ added: [{ format: 'email', email: 'ALICE@example.com' }], removed: [] }, alice)).toBe(true);
    expect(streamWants({ added: [{ format: 'email', email: 'ALICE@example.com' }], removed: [] }, bob)).toBe(false);
    expect(streamWants({ added: [{ format: 'complex', device: { format: 'opaque', id: DEVICE }, user: { format: 'email', email: 'eve@example.com' } }], removed: [] }, alice)).toBe(false);
    expect(streamWants({ added: [], removed: [{ format: 'opaque', id: DEVICE }] }, alice)).toBe(false);
    expect(streamWants({ added: [], removed: [{ format: 'opaque', id: DEVICE }] }, bob)).toBe(true);
  });
  it('keys subjects so the same one added twice is one row', () => {
    expect(subjectKey({ format: 'email', email: 'A@x.io' })).toBe(subjectKey({ format: 'email', email: 'a@x.io' }));
    expect(subjectKey({ format: 'complex', device: { format: 'opaque', id: 'd' } })).not.toBe(subjectKey({ format: 'opaque', id: 'd' }));
  });
});

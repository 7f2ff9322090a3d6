import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollClaims } from '@postern/shared';
import { compactVerify, decodeProtectedHeader, EmbeddedJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../testenv/rejection.js';
import { FileKeyStore } from '../keystore/file-key-store.js';
import type { DeviceKey } from '../keystore/key-store.js';
import { hashMachineId, usableSerial } from './device-facts.js';
import { buildEnrollRequest, newUeid } from './request.js';

const TOKEN = 'pet_0123456789abcdefghij';

describe('buildEnrollRequest', () => {
  let dir: string;
  let key: DeviceKey;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-enroll-'));
    key = await new FileKeyStore(dir).create();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const facts = () => ({ machine_id: hashMachineId('c0ffee-machine'), hostname: 'ann-laptop', platform: 'linux' as const });

  it('verifies with the jwk embedded in its header, which is exactly the protocol header', async () => {
    const jws = await buildEnrollRequest({ key, enrollmentToken: TOKEN, ueid: newUeid(), facts: facts(), agentVersion: '0.1.0' });
    const { protectedHeader } = await compactVerify(jws, EmbeddedJWK, { algorithms: ['ES256'] });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'postern-enroll+jwt', jwk: key.publicJwk });
    expect(Object.keys(decodeProtectedHeader(jws))).toEqual(['alg', 'typ', 'jwk']);
  });

  it('carries exactly the protocol claims, with the machine id hashed', async () => {
    const ueid = newUeid();
    const now = () => 1_750_000_000_123;
    const jws = await buildEnrollRequest({ key, enrollmentToken: TOKEN, ueid, facts: { ...facts(), serial: 'PF2ABCDE' }, agentVersion: '0.1.0', now });
    const { payload } = await compactVerify(jws, EmbeddedJWK, { algorithms: ['ES256'] });
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(Object.keys(claims).sort()).toEqual(['agent_version', 'enrollment_token', 'hostname', 'iat', 'machine_id', 'platform', 'serial', 'ueid'].sort());
    expect(enrollClaims.parse(claims)).toEqual(claims);
    expect(claims).toMatchObject({ enrollment_token: TOKEN, iat: 1_750_000_000, ueid, hostname: 'ann-laptop', platform: 'linux', serial: 'PF2ABCDE', agent_version: '0.1.0' });
    expect(claims.machine_id).toBe(createHash('sha256').update('c0ffee-machine').digest('hex'));
    expect(claims.machine_id).not.toContain('c0ffee');
  });

  it('leaves serial out when none is readable', async () => {
    const jws = await buildEnrollRequest({ key, enrollmentToken: TOKEN, ueid: newUeid(), facts: facts(), agentVersion: '0.1.0' });
    const { payload } = await compactVerify(jws, EmbeddedJWK, { algorithms: ['ES256'] });
    expect(JSON.parse(new TextDecoder().decode(payload))).not.toHaveProperty('serial');
  });

  it('refuses a malformed token without repeating it', async () => {
    const err = await rejectionOf(buildEnrollRequest({ key, enrollmentToken: 'short-secret', ueid: newUeid(), facts: facts(), agentVersion: '0.1.0' }));
    expect(err).toMatchObject({ code: 'malformed_token' });
    expect(err.message).not.toContain('short-secret');
  });
});

describe('newUeid', () => {
  it('is type RAND: 0x01 then 16 random bytes', () => {
    const bytes = Buffer.from(newUeid(), 'base64url');
    expect(bytes).toHaveLength(17);
    expect(bytes[0]).toBe(0x01);
    expect(newUeid()).not.toBe(newUeid());
  });
});

describe('usableSerial', () => {
  it('keeps a real serial and drops placeholders', () => {
    expect(usableSerial(' C02XK1ABJG5H ')).toBe('C02XK1ABJG5H');
    for (const placeholder of ['', '-', 'To Be Filled By O.E.M.', 'Default string', 'System Serial Number', '0000000000', undefined, null]) {
      expect(usableSerial(placeholder)).toBeUndefined();
    }
  });
});

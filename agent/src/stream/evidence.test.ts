import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evidenceClaims } from '@postern/shared';
import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../keystore/file-key-store.js';
import type { DeviceKey } from '../keystore/key-store.js';
import { newUeid } from '../enrollment/request.js';
import { fakePosture } from '@postern/testkit/postures';
import { signEvidence } from './evidence.js';

const NONCE = Buffer.alloc(32, 7).toString('base64url');
const DEVICE_ID = '1e2d3c4b-5a69-4788-9a0b-c1d2e3f40516';

describe('signEvidence', () => {
  let dir: string;
  let key: DeviceKey;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-evidence-'));
    key = await new FileKeyStore(dir).create();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies with the device public key and parses with evidenceClaims', async () => {
    const ueid = newUeid();
    const posture = fakePosture();
    const token = await signEvidence({ key, device_id: DEVICE_ID, ueid, nonce: NONCE, seq: 42, posture, agentVersion: '1.2.3' });

    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(key.publicJwk, 'ES256'), { algorithms: ['ES256'], typ: 'eat+jwt' });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'eat+jwt', kid: key.kid });
    const claims = evidenceClaims.parse(payload);
    expect(claims).toEqual({
      eat_profile: 'urn:postern:evidence:1',
      iat: expect.any(Number),
      eat_nonce: NONCE,
      ueid,
      swname: 'postern-agent',
      swversion: ['1.2.3'],
      device_id: DEVICE_ID,
      seq: 42,
      posture,
    });
    expect(Number.isInteger(claims.iat)).toBe(true);
  });

  it('refuses to sign a posture that breaks the schema, naming the field', async () => {
    const posture = fakePosture();
    (posture.firewall as { enabled: unknown }).enabled = 'yes';
    await expect(signEvidence({ key, device_id: DEVICE_ID, ueid: newUeid(), nonce: NONCE, seq: 1, posture })).rejects.toThrow(/posture\.firewall/);
  });
});

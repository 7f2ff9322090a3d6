import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createTestCa, hasOpenssl, type TestCa } from '@postern/testkit/tls/test-ca';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../testenv/rejection.js';
import { isTls, loadTrustStore } from './trust-store.js';

describe.skipIf(!(await hasOpenssl()))('loadTrustStore (certificates made with openssl)', () => {
  let dir: string;
  let ca: TestCa;
  let other: TestCa;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-trust-'));
    [ca, other] = await Promise.all([createTestCa('Corp CA'), createTestCa('Other CA')]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await Promise.all([ca?.cleanup(), other?.cleanup()]);
  });

  it("adds every certificate of the CA file to Node's roots and the system bundle, once each", async () => {
    const bundle = join(dir, 'two.pem');
    await writeFile(bundle, `# corp roots\n${ca.caPem}\n${other.caPem.replace(/\n/g, '\r\n')}`);
    const system = join(dir, 'system.pem');
    await writeFile(system, `${ca.caPem}${rootCertificates[0]}\n`);
    const trust = await loadTrustStore({ caFile: bundle, platform: 'linux', bundles: [join(dir, 'missing.pem'), system] });
    expect(trust.caFile).toBe(bundle);
    expect(trust.certificates).toContain(ca.caPem.trim() + '\n');
    expect(trust.certificates).toContain(other.caPem.trim() + '\n');
    expect(trust.certificates).toHaveLength(rootCertificates.length + 2);
  });

  it('reads no system bundle on macOS and Windows: Node\'s roots and the CA file only', async () => {
    const trust = await loadTrustStore({ caFile: ca.caFile, platform: 'darwin', bundles: [ca.caFile] });
    expect(trust.certificates).toHaveLength(rootCertificates.length + 1);
    expect((await loadTrustStore({ platform: 'win32' })).caFile).toBeUndefined();
  });

  it('says which CA file cannot be read, or holds no certificate, and what to give instead', async () => {
    const missing = join(dir, 'nope.pem');
    expect(await rejectionOf(loadTrustStore({ caFile: missing }))).toMatchObject({ code: 'ca_unreadable', message: expect.stringMatching(new RegExp(`^cannot read the CA file ${missing} \\(ENOENT`)) });
    const keyOnly = join(dir, 'key.pem');
    await writeFile(keyOnly, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    expect(await rejectionOf(loadTrustStore({ caFile: keyOnly }))).toMatchObject({ code: 'ca_empty', message: `the CA file ${keyOnly} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give --ca the CA's certificate in PEM, not a key or DER file` });
    const broken = join(dir, 'broken.pem');
    await writeFile(broken, `${ca.caPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    expect(await rejectionOf(loadTrustStore({ caFile: broken }))).toMatchObject({ code: 'ca_invalid', message: expect.stringMatching(/^certificate 2 of 2 in the CA file .*broken\.pem is not a valid X\.509 certificate/) });
  });
});

describe('isTls', () => {
  it('is true for the URLs whose server a trust store verifies, and only those', () => {
    expect(['https://postern.example.com', 'wss://postern.example.com/v1/agent', 'WSS://postern.example.com'].map(isTls)).toEqual([true, true, true]);
    expect(['http://127.0.0.1:8700', 'ws://127.0.0.1:8700/v1/agent', 'file:///etc/ssl/cert.pem', 'wssx://host'].map(isTls)).toEqual([false, false, false, false]);
  });
});

import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../testenv/rejection.js';
import { signCompact } from '../jws/sign-compact.js';
import { FileKeyStore } from './file-key-store.js';

describe('FileKeyStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has no key before one is created', async () => {
    expect(await new FileKeyStore(dir).load()).toBeNull();
  });

  it.skipIf(process.platform === 'win32')('creates the key file with mode 0600 and reloads it to the same kid', async () => {
    const store = new FileKeyStore(dir);
    const created = await store.create();
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);

    const reloaded = await new FileKeyStore(dir).load();
    expect(reloaded?.kid).toBe(created.kid);
    expect(reloaded?.publicJwk).toEqual(created.publicJwk);
    expect(created.kid).toBe(await calculateJwkThumbprint(created.publicJwk, 'sha256'));
  });

  it('exposes only the public members of the key', async () => {
    const key = await new FileKeyStore(dir).create();
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
  });

  it('signs ES256 that verifies with the public key, after a reload too', async () => {
    const store = new FileKeyStore(dir);
    await store.create();
    const key = (await store.load())!;
    const jws = await signCompact(key, { alg: 'ES256', typ: 'test' }, { hello: 'world' });
    const { payload } = await compactVerify(jws, await importJWK(key.publicJwk, 'ES256'), { algorithms: ['ES256'] });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ hello: 'world' });
  });

  it.skipIf(process.platform === 'win32')('refuses a key file other users can read', async () => {
    const store = new FileKeyStore(dir);
    await store.create();
    await chmod(store.path, 0o644);
    await expect(store.load()).rejects.toMatchObject({ code: 'key_unprotected' });
  });

  it('reports a corrupt key file without echoing its content', async () => {
    const store = new FileKeyStore(dir);
    await writeFile(store.path, '{"kty":"EC","d":"SECRET-MATERIAL"}', { mode: 0o600 });
    const err = await rejectionOf(store.load());
    expect(err).toMatchObject({ code: 'key_corrupt' });
    expect(err.message).not.toContain('SECRET-MATERIAL');
  });

  it('replaces the key when asked to create a new one', async () => {
    const store = new FileKeyStore(dir);
    const first = await store.create();
    const second = await store.create();
    expect(second.kid).not.toBe(first.kid);
    expect(JSON.parse(await readFile(store.path, 'utf8')).kid).toBe(second.kid);
  });

  describe('a rotation\'s next key', () => {
    it.skipIf(process.platform === 'win32')('is stored beside the device key (mode 0600) without touching it, and is gone after promotion, which makes it the device key', async () => {
      const store = new FileKeyStore(dir);
      const current = await store.create();
      expect(await store.loadNext()).toBeNull();
      const next = await store.createNext();
      expect((await stat(store.nextPath)).mode & 0o777).toBe(0o600);
      expect((await store.load())?.kid).toBe(current.kid);
      expect((await new FileKeyStore(dir).loadNext())?.kid).toBe(next.kid);
      // The reloaded next key signs what its public key verifies.
      const jws = await signCompact((await store.loadNext())!, { alg: 'ES256', typ: 'postern-key-confirm+jwt', kid: next.kid }, { ok: true });
      await compactVerify(jws, await importJWK(next.publicJwk, 'ES256'));

      await store.promoteNext();
      expect((await store.load())?.kid).toBe(next.kid);
      expect(await store.loadNext()).toBeNull();
      expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    });

    it('can be discarded, keeping the device key; destroy removes both', async () => {
      const store = new FileKeyStore(dir);
      const current = await store.create();
      await store.createNext();
      await store.discardNext();
      expect(await store.loadNext()).toBeNull();
      expect((await store.load())?.kid).toBe(current.kid);
      await store.createNext();
      await store.destroy();
      expect(await store.load()).toBeNull();
      expect(await store.loadNext()).toBeNull();
    });

    it('refuses to promote when there is no next key, naming the files', async () => {
      const store = new FileKeyStore(dir);
      await store.create();
      expect(await rejectionOf(store.promoteNext())).toMatchObject({ code: 'key_io', message: expect.stringContaining(store.nextPath) });
    });
  });
});

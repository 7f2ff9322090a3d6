import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceKid, publicP256Jwk } from '@postern/shared';
import { z } from 'zod';
import { KeyStoreError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { StateFile } from '../state/paths.js';
import type { DeviceKey, KeyStore, PendingDeviceKey } from './key-store.js';

const privateP256Jwk = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  d: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  kid: z.string().optional(),
});
type PrivateP256Jwk = z.infer<typeof privateP256Jwk>;

/**
 * Device key kept as a private JWK in `<dir>/device-key.jwk`, mode 0600.
 * The file is created with that mode (never widened then narrowed), and a key
 * file others can read is refused, as ssh refuses an unprotected private key.
 */
export class FileKeyStore implements KeyStore {
  readonly path: string;
  readonly nextPath: string;

  constructor(dir: string) {
    this.path = join(dir, StateFile.deviceKey);
    this.nextPath = join(dir, StateFile.nextDeviceKey);
  }

  load(): Promise<DeviceKey | null> {
    return this.loadFrom(this.path);
  }

  loadNext(): Promise<DeviceKey | null> {
    return this.loadFrom(this.nextPath);
  }

  async createNext(): Promise<DeviceKey> {
    const pending = await this.generateAt(this.nextPath);
    await pending.save();
    return pending.key;
  }

  async promoteNext(): Promise<void> {
    try {
      // rename(2) replaces the old key file in one step: a reader sees the old key or the new one.
      await rename(this.nextPath, this.path);
    } catch (err) {
      throw new KeyStoreError('key_io', `cannot move ${this.nextPath} to ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  discardNext(): Promise<void> {
    return this.remove(this.nextPath);
  }

  async destroy(): Promise<void> {
    await this.remove(this.nextPath);
    await this.remove(this.path);
  }

  private async remove(path: string): Promise<void> {
    await rm(path, { force: true }).catch((err: unknown) => {
      throw new KeyStoreError('key_io', `cannot delete ${path}: ${(err as Error).message}`, { cause: err });
    });
  }

  private async loadFrom(path: string): Promise<DeviceKey | null> {
    let text: string;
    try {
      if (process.platform !== 'win32') {
        const { mode } = await stat(path);
        if ((mode & 0o077) !== 0) {
          throw new KeyStoreError(
            'key_unprotected',
            `${path} can be read by other users (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${path}\`, or enroll again with --force if the key may have leaked`,
          );
        }
      }
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (err instanceof KeyStoreError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new KeyStoreError('key_permission_denied', `cannot read ${path}: permission denied; run as the user that enrolled this device (root for the system service)`, { cause: err });
      }
      throw new KeyStoreError('key_io', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: PrivateP256Jwk;
    try {
      parsed = privateP256Jwk.parse(JSON.parse(text));
    } catch {
      // Never echo the file: it holds the private key.
      throw new KeyStoreError('key_corrupt', `${path} is not a P-256 private JWK: enroll again with \`postern-agent enroll --force\``);
    }
    return fromPrivateJwk(parsed);
  }

  generate(): Promise<PendingDeviceKey> {
    return this.generateAt(this.path);
  }

  private async generateAt(path: string): Promise<PendingDeviceKey> {
    const exported = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const jwk = privateP256Jwk.parse({ kty: exported.kty, crv: exported.crv, x: exported.x, y: exported.y, d: exported.d });
    const key = await fromPrivateJwk(jwk);
    return {
      key,
      save: async () => {
        try {
          await writeFileAtomic(path, `${JSON.stringify({ ...jwk, kid: key.kid })}\n`, 0o600);
        } catch (err) {
          throw new KeyStoreError('key_io', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
        }
      },
    };
  }

  async create(): Promise<DeviceKey> {
    const pending = await this.generate();
    await pending.save();
    return pending.key;
  }
}

/**
 * The key held as a node:crypto KeyObject and signed with synchronously: one signature per
 * report costs well under a millisecond, and node:crypto needs neither WebCrypto's modules nor
 * a hand-off to the thread pool (memory the agent would keep for the rest of its life).
 */
async function fromPrivateJwk(jwk: PrivateP256Jwk): Promise<DeviceKey> {
  const publicJwk = publicHalf(jwk);
  const kid = await deviceKid(publicJwk);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d }, format: 'jwk' });
  } catch {
    // Never echo the key: the message of a failed import may quote it.
    throw new KeyStoreError('key_corrupt', 'the device key is not a valid P-256 private key: enroll again with `postern-agent enroll --force`');
  }
  return {
    kid,
    publicJwk,
    sign(data) {
      // ieee-p1363 is the raw r || s form JWS wants (RFC 7518 §3.4), not DER.
      return Promise.resolve(new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })));
    },
  };
}

function publicHalf(jwk: PrivateP256Jwk) {
  return publicP256Jwk.parse({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
}

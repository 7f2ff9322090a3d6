import { DEVICE_ALG, UNENROLL_TYP, unenrollResponse } from '@postern/shared';
import { KeyStoreError } from '../errors.js';
import { signCompact } from '../jws/sign-compact.js';
import { deviceKeyFor } from '../keystore/device-key-for.js';
import type { KeyStore } from '../keystore/key-store.js';
import type { StateStore } from '../state/store.js';
import { deviceRequest, type DeviceRequestOptions } from './device-request.js';

/**
 * Leaves the server for good: a request signed with the device key revokes the device (reason
 * `unenrolled`), then the keys and state are deleted. With `localOnly` (the server is gone, or
 * refuses), only the local part is done and the server still lists the device.
 */
export async function unenroll(o: { store: StateStore; keyStore: KeyStore; http: DeviceRequestOptions; localOnly?: boolean; now?: () => number }): Promise<{ deviceId: string; server: boolean }> {
  const device = await o.store.requireDevice();
  if (!o.localOnly) {
    const key = await deviceKeyFor(o.keyStore, device.kid);
    if (!key || key.kid !== device.kid) throw new KeyStoreError('key_mismatch', `the device key in ${o.store.dir} is missing or not this device's: the server cannot be told; use --local to delete the state anyway`);
    await deviceRequest(
      o.http,
      '/v1/device/unenroll',
      async (nonce) => ({ request: await signCompact(key, { alg: DEVICE_ALG, typ: UNENROLL_TYP, kid: key.kid }, { device_id: device.device_id, nonce, iat: Math.floor((o.now ?? Date.now)() / 1000) }) }),
      unenrollResponse,
    );
  }
  await o.keyStore.destroy();
  await o.store.forgetEnrollment();
  return { deviceId: device.device_id, server: !o.localOnly };
}

import { DEVICE_ALG, KEY_CONFIRM_TYP, KEY_ROTATION_TYP, keyConfirmResponse, keyRotationResponse } from '@postern/shared';
import { deviceRequest, DeviceRequestRefused, type DeviceRequestOptions } from '../enrollment/device-request.js';
import { KeyStoreError } from '../errors.js';
import { signCompact } from '../jws/sign-compact.js';
import { signDual } from '../jws/sign-dual.js';
import type { DeviceKey, KeyStore } from '../keystore/key-store.js';
import type { DeviceState } from '../state/files.js';
import type { StateStore } from '../state/store.js';
import { failpoint } from './failpoint.js';

export interface RotationOptions {
  store: StateStore;
  keyStore: KeyStore;
  /** Where to send the requests: the server, its fetch and CA. */
  http: DeviceRequestOptions;
  now?: () => number;
}

export type RotationOutcome = { rotated: true; from: string; to: string } | { rotated: false; kid: string };

/**
 * Rotates the device key (docs/protocol.md, "Key rotation"): make the next key and keep it beside
 * the current one, ask the server to start (signed by both), confirm with the next key, then
 * switch locally (device.json first, then the key file). Every step can be repeated, so the
 * same call resumes a rotation cut short anywhere: an existing next key is confirmed first
 * (the server may have taken it already), and started again if the server has no trace of it.
 */
export async function rotateKey(o: RotationOptions): Promise<RotationOutcome> {
  const settled = await settleLocalKeys(o);
  // The server had confirmed before device.json named the new key: nothing more to ask.
  if (settled.finished) return { rotated: true, from: settled.finished, to: settled.device.kid };
  const { device } = settled;
  let { current, next } = settled;
  if (!current) throw new KeyStoreError('key_missing', `the device key is missing from ${o.store.dir}: enroll again with \`postern-agent enroll --force\``);
  if (next && (await confirm(o, device, next))) return finish(o, current, next);
  next ??= await o.keyStore.createNext();
  failpoint('before-send');
  await start(o, device, current, next);
  failpoint('after-start');
  failpoint('before-confirm');
  if (!(await confirm(o, device, next))) throw new KeyStoreError('rotation_failed', 'the server dropped the key rotation it had just started: run `postern-agent rotate-key` again');
  return finish(o, current, next);
}

/** Whether a rotation is under way on this device: a next key is kept beside the device key. */
export async function rotationUnderWay(keyStore: KeyStore): Promise<boolean> {
  return (await keyStore.loadNext()) !== null;
}

/** Whether the device key is older than the server allows. */
export function keyTooOld(device: DeviceState, nowMs: number): boolean {
  if (!device.key_max_age_s) return false;
  return Math.floor(nowMs / 1000) - (device.key_created_at ?? device.enrolled_at) >= device.key_max_age_s;
}

/**
 * A local switch cut short between its two writes leaves device.json naming the next key while
 * the key file still holds the old one: finish it here. Returns what is there afterwards.
 */
async function settleLocalKeys(o: RotationOptions): Promise<{ device: DeviceState; current: DeviceKey | null; next: DeviceKey | null; finished?: string }> {
  const device = await o.store.requireDevice();
  const current = await o.keyStore.load();
  const next = await o.keyStore.loadNext();
  if (current?.kid !== device.kid && next?.kid === device.kid) {
    await o.keyStore.promoteNext();
    return { device, current: next, next: null, finished: current?.kid ?? 'a lost key' };
  }
  if (current && current.kid !== device.kid) {
    throw new KeyStoreError('key_mismatch', `the device key in ${o.store.dir} is not the one this device enrolled with: enroll again with \`postern-agent enroll --force\``);
  }
  return { device, current, next };
}

async function start(o: RotationOptions, device: DeviceState, current: DeviceKey, next: DeviceKey): Promise<void> {
  await deviceRequest(
    o.http,
    '/v1/device/key-rotation',
    async (nonce) => ({
      request: await signDual(
        [
          { key: current, header: { alg: DEVICE_ALG, typ: KEY_ROTATION_TYP, kid: current.kid } },
          { key: next, header: { alg: DEVICE_ALG, typ: KEY_ROTATION_TYP, jwk: next.publicJwk } },
        ],
        { device_id: device.device_id, new_kid: next.kid, nonce, iat: seconds(o) },
      ),
    }),
    keyRotationResponse,
  );
}

/** True when the server holds `next` as this device's key now; false when it has no rotation to it pending. */
async function confirm(o: RotationOptions, device: DeviceState, next: DeviceKey): Promise<boolean> {
  try {
    const answer = await deviceRequest(
      o.http,
      '/v1/device/key-rotation/confirm',
      async (nonce) => ({ request: await signCompact(next, { alg: DEVICE_ALG, typ: KEY_CONFIRM_TYP, kid: next.kid }, { device_id: device.device_id, nonce, iat: seconds(o) }) }),
      keyConfirmResponse,
    );
    return answer.kid === next.kid;
  } catch (err) {
    if (err instanceof DeviceRequestRefused && err.serverCode === 'unknown_key') return false;
    throw err;
  }
}

async function finish(o: RotationOptions, current: DeviceKey, next: DeviceKey): Promise<RotationOutcome> {
  failpoint('after-confirm');
  await o.store.updateDevice((d) => ({ ...d, kid: next.kid, key_created_at: seconds(o) }));
  failpoint('after-state');
  await o.keyStore.promoteNext();
  return { rotated: true, from: current.kid, to: next.kid };
}

function seconds(o: RotationOptions): number {
  return Math.floor((o.now ?? Date.now)() / 1000);
}

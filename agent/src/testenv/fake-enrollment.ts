import { randomUUID } from 'node:crypto';
import { newUeid } from '../enrollment/request.js';
import { FileKeyStore } from '../keystore/file-key-store.js';
import type { DeviceKey } from '../keystore/key-store.js';
import type { DeviceState } from '../state/files.js';
import { StateStore } from '../state/store.js';

/** A valid device.json, for tests that need one without a key behind it. */
export function sampleDevice(overrides: Partial<DeviceState> = {}): DeviceState {
  return {
    version: 1,
    device_id: '7d4f8a52-2b6c-4d1e-9a63-0f5b8c1e2d3a',
    server: 'http://127.0.0.1:8443',
    ueid: `AQ${'A'.repeat(21)}`,
    kid: 'k'.repeat(43),
    status: 'active',
    group: null,
    expires_at: null,
    report_interval_s: 300,
    enrolled_at: 1_700_000_000,
    last_seq: 0,
    ...overrides,
  };
}

/**
 * A state directory as a successful enrollment leaves it (key and device.json),
 * without a server: for tests whose fake backend already knows the device.
 */
export async function fakeEnrollment(
  dir: string,
  overrides: Partial<DeviceState> = {},
): Promise<{ store: StateStore; keyStore: FileKeyStore; key: DeviceKey; device: DeviceState }> {
  const store = new StateStore(dir);
  const keyStore = new FileKeyStore(dir);
  await store.ensureDir();
  const key = await keyStore.create();
  const device = sampleDevice({ device_id: randomUUID(), ueid: newUeid(), kid: key.kid, enrolled_at: Math.floor(Date.now() / 1000), ...overrides });
  await store.writeDevice(device);
  return { store, keyStore, key, device };
}

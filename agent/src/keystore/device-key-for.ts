import type { DeviceKey, KeyStore } from './key-store.js';

/**
 * The stored key of the device whose key id is `kid`. A key rotation whose local switch was cut
 * short after device.json named the new key is finished first, so every command that signs sees
 * the same key `run` would.
 */
export async function deviceKeyFor(keyStore: KeyStore, kid: string): Promise<DeviceKey | null> {
  const key = await keyStore.load();
  if (key && key.kid !== kid && (await keyStore.loadNext())?.kid === kid) {
    await keyStore.promoteNext();
    return keyStore.load();
  }
  return key;
}

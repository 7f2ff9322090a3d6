import { AGENT_STREAM_PATH } from '@postern/shared';
import { agentStreamUrl, normalizeServerUrl } from '../enrollment/server-url.js';
import { KeyStoreError } from '../errors.js';
import { deviceKeyFor } from '../keystore/device-key-for.js';
import type { DeviceKey, KeyStore } from '../keystore/key-store.js';
import type { DeviceState } from '../state/files.js';
import type { StateStore } from '../state/store.js';

export interface AgentIdentity {
  device: DeviceState;
  key: DeviceKey;
  /** Backend base URL (`https://…`). */
  server: string;
  /** The agent stream (`wss://…/v1/agent`). */
  url: string;
  /** The private CA to trust besides the system's: `--ca`, else the one saved at enrollment. */
  caFile: string | undefined;
}

/** The enrolled device and its key, checked to belong together, before anything is sent. */
export async function loadIdentity(options: { store: StateStore; keyStore: KeyStore; server?: string | undefined; caFile?: string | undefined }): Promise<AgentIdentity> {
  const { store, keyStore } = options;
  const device = await store.requireDevice();
  const key = await deviceKeyFor(keyStore, device.kid);
  if (!key) {
    throw new KeyStoreError('key_missing', `the device key is missing from ${store.dir}: enroll again with \`postern-agent enroll --force\``);
  }
  if (key.kid !== device.kid) {
    throw new KeyStoreError('key_mismatch', `the device key in ${store.dir} is not the one this device enrolled with: enroll again with \`postern-agent enroll --force\``);
  }
  // Checked on every start, not only at enrollment: `--server` or an older agent's state may name http://.
  const server = normalizeServerUrl(options.server ?? device.server);
  return { device, key, server, url: agentStreamUrl(server, AGENT_STREAM_PATH), caFile: options.caFile ?? device.ca_file };
}

import { deviceHttp } from '../../enrollment/device-request.js';
import { rotateKey } from '../../rotation/rotate-key.js';
import { openState } from '../context.js';

export interface RotateKeyCommandOptions {
  state?: string;
  server?: string;
  ca?: string;
}

/** `postern-agent rotate-key`: a new device key now, or the end of a rotation cut short. */
export async function rotateKeyCommand(opts: RotateKeyCommandOptions): Promise<void> {
  const { store, keyStore } = openState(opts.state);
  const device = await store.requireDevice();
  const outcome = await rotateKey({ store, keyStore, http: await deviceHttp(device, { server: opts.server, caFile: opts.ca }) });
  if (outcome.rotated) process.stdout.write(`Rotated the device key of ${device.device_id}: ${outcome.from} → ${outcome.to}. The old key no longer works.\n`);
}

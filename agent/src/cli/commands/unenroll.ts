import { deviceHttp } from '../../enrollment/device-request.js';
import { unenroll } from '../../enrollment/unenroll.js';
import { openState } from '../context.js';

export interface UnenrollCommandOptions {
  state?: string;
  server?: string;
  ca?: string;
  local?: boolean;
}

/** `postern-agent unenroll`: the server revokes this device at its own signed request, then its key and state are deleted. */
export async function unenrollCommand(opts: UnenrollCommandOptions): Promise<void> {
  const { store, keyStore } = openState(opts.state);
  const device = await store.requireDevice();
  const done = await unenroll({ store, keyStore, http: await deviceHttp(device, { server: opts.server, caFile: opts.ca }), localOnly: opts.local ?? false });
  process.stdout.write(
    done.server
      ? `Unenrolled device ${done.deviceId}: the server revoked it, and its key and state are deleted from ${store.dir}.\n`
      : `Deleted the key and state of device ${done.deviceId} from ${store.dir}; the server was not told and still lists it: ask your administrator to revoke it.\n`,
  );
}

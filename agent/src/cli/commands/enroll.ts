import { enroll } from '../../enrollment/enroll.js';
import { AgentError } from '../../errors.js';
import { openState, formatTime } from '../context.js';

export interface EnrollCommandOptions {
  server?: string;
  token?: string;
  state?: string;
  force?: boolean;
  ca?: string;
}

export async function enrollCommand(opts: EnrollCommandOptions): Promise<void> {
  if (!opts.server) throw new AgentError('missing_server', 'give the server with --server URL (or set POSTERN_SERVER)');
  if (!opts.token) throw new AgentError('missing_token', 'give the enrollment token with --token TOKEN (or set POSTERN_ENROLL_TOKEN)');
  const { store, keyStore } = openState(opts.state);
  const device = await enroll({ server: opts.server, enrollmentToken: opts.token, store, keyStore, force: opts.force ?? false, caFile: opts.ca });

  const out = [`Enrolled this device as ${device.device_id} with ${device.server}.`];
  if (device.relink_of) {
    out.push(`This machine was already enrolled as device ${device.relink_of}: an administrator must confirm this enrollment replaces it (\`postern-server device relink ${device.device_id}\`); until then the verdict stays "pending".`);
  } else if (device.status === 'pending_approval') {
    out.push('An administrator must approve it: until then reports are accepted but the verdict stays "pending".');
  }
  if (device.expires_at !== null) out.push(`Its access ends ${formatTime(device.expires_at)}.`);
  if (device.ca_file) out.push(`The server's certificate is checked against ${device.ca_file} as well as the system's CAs; keep that file in place.`);
  out.push(`State is in ${store.dir}. Start reporting with: postern-agent run${opts.state ? ` --state ${opts.state}` : ''}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

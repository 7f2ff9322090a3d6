import { describeChecks, describeVerdict } from '../../results/describe.js';
import { loadIdentity } from '../../stream/identity.js';
import { formatAge, formatTime, openState, printJson } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { requestDevicePageLink, type DevicePageLink } from './device-page-link.js';

const HOW_TO_ENROLL = 'enroll it with: postern-agent enroll --server URL --token TOKEN (ask your administrator for a token)';

/** `link`: also ask the server for a short-lived link to this device's page (the CLI's default; `--no-link`). */
export async function statusCommand(opts: { json?: boolean; state?: string; link?: boolean }): Promise<void> {
  const { store, keyStore } = openState(opts.state);
  const device = await store.readDevice();
  if (!device) {
    if (opts.json) printJson({ enrolled: false, state_dir: store.dir });
    else process.stdout.write(`This device is not enrolled (state directory ${store.dir}): ${HOW_TO_ENROLL}\n`);
    process.exitCode = ExitCode.error;
    return;
  }
  // A revoked device's cached verdict is stale by definition: showing it would read as "still allowed".
  const revoked = device.status === 'revoked';
  const last = revoked ? null : await store.readLastResult();
  if (revoked) process.exitCode = ExitCode.revoked;
  // A revoked device has no page to show; the server would refuse it.
  const page = opts.link && !revoked ? await pageLinkOrReason({ store, keyStore }) : null;

  if (opts.json) {
    printJson({
      enrolled: true,
      state_dir: store.dir,
      device: {
        device_id: device.device_id,
        server: device.server,
        status: device.status,
        group: device.group,
        kid: device.kid,
        enrolled_at: device.enrolled_at,
        expires_at: device.expires_at,
        report_interval_s: device.report_interval_s,
      },
      // The EAR token is left out: `postern-agent token` is the one place that prints it.
      last_result: last && { seq: last.seq, verdict: last.verdict, score: last.score, checks: last.checks, received_at: last.received_at },
      device_page: page && 'url' in page ? page : null,
    });
    return;
  }

  const out: string[] = [];
  const group = device.group ? `, group ${device.group}` : '';
  out.push(`Device    ${device.device_id} (${device.status.replace('_', ' ')}${group})`);
  out.push(`Server    ${device.server}`);
  out.push(`Enrolled  ${formatTime(device.enrolled_at)}${device.expires_at !== null ? `; access ends ${formatTime(device.expires_at)}` : ''}`);
  if (revoked) {
    out.push('This device was revoked or its enrollment expired: the server no longer accepts its reports and its last verdict no longer counts.');
    out.push('Ask your administrator, then enroll again with `postern-agent enroll --force`.');
  } else if (!last) {
    out.push('No report has been accepted yet: run `postern-agent run --once`, or start the postern-agent service.');
  } else {
    out.push(`Result    ${describeVerdict(last)}, ${formatAge(last.received_at)} (${formatTime(last.received_at)})`);
    // Reports come every interval; a much older result means the agent is not running or cannot reach the server.
    if (Date.now() / 1000 - last.received_at > 3 * device.report_interval_s) {
      out.push('          This result is old: is the agent running, and can it reach the server?');
    }
    const fixes = describeChecks(last.checks);
    if (fixes.length) out.push('To fix:', ...fixes);
    else if (last.verdict === 'compliant') out.push('All checks pass.');
  }
  if (page) out.push('url' in page ? `Details   ${page.url}\n          (this device's page, for 15 minutes: open it in a browser)` : `Details   no page link: ${page.reason}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The link, or why there is none: `status` still prints what it knows without the server. */
async function pageLinkOrReason(state: ReturnType<typeof openState>): Promise<DevicePageLink | { reason: string }> {
  try {
    return await requestDevicePageLink(await loadIdentity(state));
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

import type { Posture } from '@postern/shared';
import type { Collector } from '../../collectors/collect.js';
import { AgentError, StreamError } from '../../errors.js';
import { consoleLogger } from '../../log.js';
import { describeChecks } from '../../results/describe.js';
import { reportOnce, startAgent } from '../../stream/agent-loop.js';
import type { OnceOutcome } from '../../stream/report-protocol.js';
import { reportOnceOverHttp } from '../../stream/http-report.js';
import { loadIdentity } from '../../stream/identity.js';
import { isTls, loadTrustStore } from '../../net/trust-store.js';
import { AGENT_VERSION } from '../../version.js';
import { openState } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** How long the first collection waits for a slow section before reporting without it. */
const FIRST_SLOW_READ_WAIT_MS = 10_000;

export interface RunCommandOptions {
  once?: boolean;
  http?: boolean;
  state?: string;
  server?: string;
  ca?: string;
}

export async function runCommand(opts: RunCommandOptions): Promise<void> {
  if (opts.http && !opts.once) throw new AgentError('usage', '--http works only with --once: the long-running agent needs the WebSocket stream');
  const { store, keyStore } = openState(opts.state);
  // Fail on a missing enrollment, a refused server URL or an unusable CA file before loading the collectors.
  const { device, caFile, url } = await loadIdentity({ store, keyStore, server: opts.server, caFile: opts.ca });
  // A ws:// stream (a loopback server) verifies no certificate: the system's CAs are then not read,
  // nor Node's roots, which node:tls would hold for the life of the process.
  if (caFile !== undefined || isTls(url)) await loadTrustStore({ caFile });
  const { createCollector, postureChanged } = await import('../../collectors/collect.js');
  // The long-running agent does not hold its first report for a Windows Update or
  // softwareupdate scan: that section says "still reading" and follows a minute later.
  const collector = createCollector(opts.once ? {} : { slowFirstReadWaitMs: FIRST_SLOW_READ_WAIT_MS });

  if (opts.once) {
    // Read everything before connecting: the server closes a stream that sends nothing
    // for 30 s, and a pending-updates scan can take minutes. That reading is the report.
    let ready: Posture | undefined = await collector.collect();
    const once: Collector = {
      collect: () => {
        const posture = ready;
        ready = undefined;
        return posture ? Promise.resolve(posture) : collector.collect();
      },
    };
    const log = consoleLogger({ timestamps: false });
    const stopper = new AbortController();
    const onSignal = () => stopper.abort();
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    try {
      const outcome = opts.http
        ? await reportOnceOverHttp({ store, keyStore, collector: once, log, server: opts.server, caFile: opts.ca })
        : await reportOnce({ store, keyStore, collector: once, postureChanged, log, server: opts.server, caFile: opts.ca, signal: stopper.signal });
      finishOnce(outcome);
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
    return;
  }

  const log = consoleLogger();
  log.info(`postern-agent ${AGENT_VERSION} reporting as device ${device.device_id} (state ${store.dir})`);
  const agent = startAgent({ store, keyStore, collector, postureChanged, log, server: opts.server, caFile: opts.ca });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(ExitCode.interrupted); // a second signal: do not wait any longer
    stopping = true;
    log.info(`${signal}: closing the connection`);
    agent.stop();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    await agent.done;
    log.info('stopped');
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/** The verdict and the checks to fix were already logged; here only the exit status is decided. */
function finishOnce(outcome: OnceOutcome): void {
  if (outcome.accepted) {
    if (describeChecks(outcome.result.checks).length === 0 && outcome.result.verdict === 'compliant') {
      process.stdout.write('All checks pass.\n');
    }
    return;
  }
  if ('refused' in outcome) {
    throw new StreamError('report_refused', `the server refused the report (${outcome.refused.code}): ${outcome.refused.message}`);
  }
  throw new StreamError('report_failed', `no report was accepted: ${outcome.failure}`);
}

import { AgentError, StreamError } from '../../errors.js';
import { consoleLogger } from '../../log.js';
import { describeChecks } from '../../results/describe.js';
import { reportOnce, startAgent } from '../../stream/agent-loop.js';
import type { OnceOutcome } from '../../stream/connection.js';
import { reportOnceOverHttp } from '../../stream/http-report.js';
import { AGENT_VERSION } from '../../version.js';
import { openState } from '../context.js';
import { ExitCode } from '../exit-codes.js';

export interface RunCommandOptions {
  once?: boolean;
  http?: boolean;
  state?: string;
  server?: string;
}

export async function runCommand(opts: RunCommandOptions): Promise<void> {
  if (opts.http && !opts.once) throw new AgentError('usage', '--http works only with --once: the long-running agent needs the WebSocket stream');
  const { store, keyStore } = openState(opts.state);
  // Fail on a missing enrollment before loading the collectors.
  const device = await store.requireDevice();
  const { createCollector, postureChanged } = await import('../../collectors/collect.js');
  const collector = createCollector();

  if (opts.once) {
    const log = consoleLogger({ timestamps: false });
    const stopper = new AbortController();
    const onSignal = () => stopper.abort();
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    try {
      const outcome = opts.http
        ? await reportOnceOverHttp({ store, keyStore, collector, log, server: opts.server })
        : await reportOnce({ store, keyStore, collector, postureChanged, log, server: opts.server, signal: stopper.signal });
      finishOnce(outcome);
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
    return;
  }

  const log = consoleLogger();
  log.info(`postern-agent ${AGENT_VERSION} reporting as device ${device.device_id} (state ${store.dir})`);
  const agent = startAgent({ store, keyStore, collector, postureChanged, log, server: opts.server });
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

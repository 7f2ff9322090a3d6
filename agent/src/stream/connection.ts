import { CloseCode, type ErrorFrame, type Posture, type ResultFrame } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { reasonOf, StreamError } from '../errors.js';
import type { DeviceKey } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import { describeChecks, describeVerdict } from '../results/describe.js';
import type { DeviceState } from '../state/files.js';
import type { StateStore } from '../state/store.js';
import { saveResult } from './persist.js';
import { ReportSchedule } from './schedule.js';
import { PersistedSeq } from './seq.js';
import { AgentSession, type SessionEvent } from './session.js';
import type { Transport, TransportHandlers } from './ws-transport.js';

/** What one finished connection leaves behind for the loop. */
export interface ConnectionEnd {
  code: number;
  reason: string;
  error: string | undefined;
  /** The server accepted at least one attestation on it. */
  authenticated: boolean;
  /** The agent must stop (revoked). */
  fatal?: StreamError;
  /** With `once`: how the single report went. */
  outcome?: OnceOutcome;
}

export type OnceOutcome =
  | { accepted: true; result: ResultFrame }
  | { accepted: false; refused: ErrorFrame }
  | { accepted: false; failure: string };

export interface ConnectionOptions {
  url: string;
  device: DeviceState;
  key: DeviceKey;
  store: StateStore;
  collector: Collector;
  postureChanged(a: Posture, b: Posture): boolean;
  log: Logger;
  /** Close after the first answer to a report. */
  once: boolean;
  checkIntervalMs: number;
  /** No answer to an attestation this long after sending it: the connection is dead. */
  answerTimeoutMs: number;
  now: () => number;
  agentVersion?: string | undefined;
  openTransport(url: string, handlers: TransportHandlers): Transport;
  /** The loop's stop button for this connection. */
  onTransport(close: (code: number, reason: string) => void): void;
}

/** Allowed difference between this device's clock and the server's before a warning. */
const CLOCK_SKEW_WARN_S = 60;

export const revokedError = () =>
  new StreamError(
    'revoked',
    'the server says this device is revoked or its enrollment has expired: ask your administrator, then enroll again with `postern-agent enroll --force`',
  );

/**
 * One `/v1/agent` connection, from upgrade to close: the transport carries frames,
 * the session speaks the protocol, the schedule says when to report, and this
 * function keeps what the server says (results, interval) and logs it.
 */
export function runConnection(o: ConnectionOptions): Promise<ConnectionEnd> {
  return new Promise((resolve) => {
    const seq = new PersistedSeq(o.store, o.now);
    let outcome: OnceOutcome | undefined;
    let fatal: StreamError | undefined;
    let answerTimer: NodeJS.Timeout | undefined;
    let warnedSkew = false;
    let writes: Promise<unknown> = Promise.resolve();

    const schedule = new ReportSchedule({
      reportIntervalS: o.device.report_interval_s,
      checkIntervalMs: o.checkIntervalMs,
      onReportDue: () => session.requestReport('interval'),
      onCheckDue: async () => {
        const last = session.lastReported;
        if (!last || session.awaitingAnswer) return;
        try {
          const now = await o.collector.collect();
          if (o.postureChanged(last, now)) session.requestReport('posture changed', now);
        } catch (err) {
          o.log.warn(`posture re-check failed: ${reasonOf(err)}`);
        }
      },
    });

    const finish = (code: number, reason: string) => transport.close(code, reason);

    const onEvent = (event: SessionEvent): void => {
      switch (event.kind) {
        case 'challenge': {
          const skew = Math.round(o.now() / 1000 - event.serverTime);
          if (Math.abs(skew) > CLOCK_SKEW_WARN_S && !warnedSkew) {
            warnedSkew = true;
            o.log.warn(`this device's clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the server's: reports may be refused (clock_skew); fix the system time`);
          }
          return;
        }
        case 'sent':
          schedule.reported();
          clearTimeout(answerTimer);
          answerTimer = setTimeout(() => {
            o.log.warn(`no answer to report ${event.seq} within ${Math.round(o.answerTimeoutMs / 1000)} s`);
            if (o.once) outcome = { accepted: false, failure: 'the server did not answer the report' };
            finish(1000, 'no answer to attestation');
          }, o.answerTimeoutMs);
          answerTimer.unref();
          return;
        case 'result': {
          clearTimeout(answerTimer);
          const { result } = event;
          o.log.info(`report ${result.seq} accepted (${event.reason}): ${describeVerdict(result)}`);
          for (const line of describeChecks(result.checks)) o.log.info(line);
          writes = writes
            .then(() => saveResult(o.store, result, o.now))
            .catch((err: unknown) => o.log.error(`could not save the result: ${reasonOf(err)}`));
          if (o.once) {
            outcome = { accepted: true, result };
            void writes.then(() => finish(1000, 'done'));
          }
          return;
        }
        case 'refused': {
          clearTimeout(answerTimer);
          const { error } = event;
          o.log.warn(`report refused by the server (${error.code}): ${error.message}${event.retrying ? '; retrying now' : ''}`);
          if (error.code === 'revoked') {
            fatal = revokedError();
            finish(1000, 'revoked');
          } else if (event.retrying) {
            return;
          } else if (o.once) {
            outcome = { accepted: false, refused: error };
            finish(1000, 'done');
          } else if (!error.nonce) {
            // Without a next nonce nothing more can be sent here; a new connection brings a challenge.
            finish(1000, 'no nonce');
          }
          return;
        }
        case 'config':
          if (!schedule.setInterval(event.reportIntervalS)) return;
          o.log.info(`the server set the report interval to ${event.reportIntervalS} s`);
          writes = writes
            .then(() => o.store.updateDevice((d) => ({ ...d, report_interval_s: event.reportIntervalS })))
            .catch((err: unknown) => o.log.error(`could not save the report interval: ${reasonOf(err)}`));
          return;
        case 'report_failed':
          if (o.once) {
            outcome = { accepted: false, failure: reasonOf(event.error) };
            finish(1000, 'done');
          }
          return;
      }
    };

    const session = new AgentSession({
      device_id: o.device.device_id,
      ueid: o.device.ueid,
      key: o.key,
      collector: o.collector,
      seq,
      send: (text) => transport.send(text),
      onEvent,
      log: o.log,
      now: o.now,
      ...(o.agentVersion ? { agentVersion: o.agentVersion } : {}),
    });

    const transport = o.openTransport(o.url, {
      onOpen: () => {
        o.log.info(`connected to ${o.url}`);
        schedule.start();
      },
      onText: (text) => session.receive(text),
      onDropped: (reason) => o.log.warn(reason),
      onClose: (code, reason, error) => {
        clearTimeout(answerTimer);
        schedule.stop();
        session.close();
        if (code === CloseCode.revoked) fatal ??= revokedError();
        void writes.then(() =>
          resolve({
            code,
            reason,
            error,
            authenticated: session.authenticated,
            ...(fatal ? { fatal } : {}),
            ...(outcome ? { outcome } : {}),
          }),
        );
      },
    });
    o.onTransport(finish);
  });
}

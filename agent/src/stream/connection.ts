import { CloseCode, type Posture } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { reasonOf, StreamError } from '../errors.js';
import type { DeviceKey } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import type { DeviceState } from '../state/files.js';
import type { StateStore } from '../state/store.js';
import type { Backoff } from './backoff.js';
import { keyTooOld } from '../rotation/rotate-key.js';
import { ReportProtocol, type OnceOutcome } from './report-protocol.js';
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
  /** End the connection when the device key is older than the server allows, so the loop rotates it (not after a failed try). */
  rotateWhenOld: boolean;
  checkIntervalMs: number;
  /** No answer to an attestation this long after sending it: the connection is dead. */
  answerTimeoutMs: number;
  retryBackoff?: Backoff | undefined;
  now: () => number;
  agentVersion?: string | undefined;
  openTransport(url: string, handlers: TransportHandlers): Transport;
  /** The loop's stop button for this connection. */
  onTransport(close: (code: number, reason: string) => void): void;
}

/** Allowed difference between this device's clock and the server's before a warning. */
const CLOCK_SKEW_WARN_S = 60;

/**
 * One `/v1/agent` connection, from upgrade to close: the transport carries frames,
 * the session carries reports and answers, the report protocol decides each answer,
 * the schedule says when to report, and this function ends the connection when a
 * decision says so and keeps the report interval the server sets.
 */
export function runConnection(o: ConnectionOptions): Promise<ConnectionEnd> {
  return new Promise((resolve) => {
    const seq = new PersistedSeq(o.store, o.now);
    // The long-running stream never gives up on a report the server asked to hold: the next one is due anyway.
    const protocol = new ReportProtocol({
      store: o.store,
      seq,
      log: o.log,
      now: o.now,
      ...(o.once ? {} : { laterAttempts: Infinity }),
      ...(o.retryBackoff ? { backoff: o.retryBackoff } : {}),
    });
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
    /** The oldest the server lets the device key get (its config frame), as last heard. */
    let keyMaxAgeS = o.device.key_max_age_s ?? null;
    // The loop rotates the key between connections, then connects with the new one.
    let rotating = false;
    const rotateIfTooOld = (): boolean => {
      if (rotating) return true;
      if (o.once || !o.rotateWhenOld || !keyTooOld({ ...o.device, key_max_age_s: keyMaxAgeS }, o.now())) return false;
      rotating = true;
      o.log.info(`the device key is older than the server allows (${keyMaxAgeS} s): rotating it`);
      finish(1000, 'rotating the device key');
      return true;
    };

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
        case 'result':
          clearTimeout(answerTimer);
          if (o.once) {
            outcome = { accepted: true, result: event.result };
            finish(1000, 'done');
            return;
          }
          rotateIfTooOld();
          return;
        case 'refused': {
          clearTimeout(answerTimer);
          const { decision } = event;
          if (decision.action === 'revoked') {
            fatal = decision.error;
            finish(1000, 'revoked');
          } else if (event.retrying) {
            return;
          } else if (o.once && decision.action === 'give_up') {
            outcome = decision.outcome;
            finish(1000, 'done');
          } else if (!event.error.nonce) {
            // Without a next nonce nothing more can be sent here; a new connection brings a challenge.
            finish(1000, 'no nonce');
          }
          return;
        }
        case 'config':
          if (event.keyMaxAgeS !== undefined && event.keyMaxAgeS !== keyMaxAgeS) {
            keyMaxAgeS = event.keyMaxAgeS;
            const saved = keyMaxAgeS;
            writes = writes
              .then(() => o.store.updateDevice((d) => ({ ...d, key_max_age_s: saved })))
              .catch((err: unknown) => o.log.error(`could not save the key's maximum age: ${reasonOf(err)}`));
          }
          if (rotateIfTooOld()) return;
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
      protocol,
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
        void writes
          .then(() => session.idle())
          .then(async () => {
            // 4403 is the stream's own word for revoked, as the `revoked` code is; it goes through the same rules.
            if (code !== CloseCode.revoked || fatal) return;
            const decision = await protocol.settle({ kind: 'refused', refusal: { code: 'revoked', message: `the server closed the stream with 4403 (${reason || 'device revoked or expired'})` } }, 'closed');
            if (decision.action === 'revoked') fatal = decision.error;
          })
          .then(() =>
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

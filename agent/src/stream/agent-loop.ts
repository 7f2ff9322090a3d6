import { CloseCode, type Posture } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { StreamError } from '../errors.js';
import type { DeviceKey, KeyStore } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import { isTls, loadTrustStore } from '../net/trust-store.js';
import type { DeviceState } from '../state/files.js';
import type { StateStore } from '../state/store.js';
import { AGENT_VERSION } from '../version.js';
import { Backoff, formatDelay } from './backoff.js';
import { describeClose } from './close-reason.js';
import { maintainKey } from '../rotation/maintain-key.js';
import { loadIdentity, type AgentIdentity } from './identity.js';
import { runConnection, type ConnectionEnd } from './connection.js';
import type { OnceOutcome } from './report-protocol.js';
import { openWsTransport, type Transport, type TransportHandlers } from './ws-transport.js';

export interface AgentLoopOptions {
  store: StateStore;
  keyStore: KeyStore;
  collector: Collector;
  /** Whether two postures differ in anything but collection times. */
  postureChanged(a: Posture, b: Posture): boolean;
  log: Logger;
  /** Use this server instead of the one saved at enrollment. */
  server?: string | undefined;
  /** Trust this private CA's PEM file instead of the one saved at enrollment. */
  caFile?: string | undefined;
  /** Posture re-check period (default 60 s). */
  checkIntervalMs?: number;
  answerTimeoutMs?: number;
  backoff?: Backoff;
  now?: () => number;
  agentVersion?: string;
  /** Pauses before sending a report again that the server asked to hold (rate limited). */
  retryBackoff?: Backoff;
  /** Replace the WebSocket (tests). */
  openTransport?: (url: string, handlers: TransportHandlers) => Transport;
}

export interface RunningAgent {
  /** Settles when the agent stopped: resolves after `stop()`, rejects when it cannot go on (revoked, not enrolled). */
  readonly done: Promise<void>;
  /** Close the connection cleanly (1000) and end the loop. */
  stop(): void;
}

/**
 * The long-running agent: connect, report, and reconnect with jittered
 * exponential backoff whenever the connection ends, until stopped or revoked.
 */
export function startAgent(options: AgentLoopOptions): RunningAgent {
  const stopper = new AbortController();
  let closeCurrent: ((code: number, reason: string) => void) | undefined;

  const done = (async () => {
    const first = await loadIdentity(options);
    const openTransport = await transportOpener(options, first);
    const backoff = options.backoff ?? new Backoff();
    while (!stopper.signal.aborted) {
      const rotation = await maintainKey(options);
      // Re-read each time: the report interval or the device key may have changed on an earlier connection.
      const identity = await loadIdentity(options);
      const end = await runConnection(connectionOptions(options, identity, openTransport, false, rotation === 'done', (close) => {
        closeCurrent = close;
        if (stopper.signal.aborted) close(1000, 'agent stopping');
      }));
      closeCurrent = undefined;
      if (stopper.signal.aborted) return;
      // The protocol already marked the device revoked.
      if (end.fatal) throw end.fatal;
      if (end.authenticated) backoff.reset();
      const delay = end.code === CloseCode.rateLimited ? backoff.nextLonger() : backoff.next();
      options.log.info(`${describeClose(end.code, end.reason, end.error)}; reconnecting in ${formatDelay(delay)}`);
      await sleep(delay, stopper.signal);
    }
  })();

  return {
    done,
    stop() {
      stopper.abort();
      closeCurrent?.(1000, 'agent stopping');
    },
  };
}

/**
 * One report over one connection (`run --once`): resolves with the server's answer,
 * rejects when there was none (unreachable, closed early, revoked).
 */
export async function reportOnce(options: AgentLoopOptions & { signal?: AbortSignal }): Promise<OnceOutcome> {
  await maintainKey(options);
  const identity = await loadIdentity(options);
  const end: ConnectionEnd = await runConnection(
    connectionOptions(options, identity, await transportOpener(options, identity), true, false, (close) => {
      if (options.signal?.aborted) close(1000, 'agent stopping');
      options.signal?.addEventListener('abort', () => close(1000, 'agent stopping'), { once: true });
    }),
  );
  if (end.fatal) throw end.fatal;
  if (end.outcome) return end.outcome;
  if (options.signal?.aborted) throw new StreamError('interrupted', 'stopped before the server answered the report');
  throw new StreamError('no_answer', `no report was accepted: ${describeClose(end.code, end.reason, end.error)}`);
}

type OpenTransport = (url: string, handlers: TransportHandlers) => Transport;

/** The WebSocket, verifying wss:// against the system's CAs and the private one; the CA file is read once. */
async function transportOpener(options: AgentLoopOptions, identity: AgentIdentity): Promise<OpenTransport> {
  if (options.openTransport) return options.openTransport;
  // ws:// has no certificate to verify; the trust store is read for wss:// only.
  const trust = isTls(identity.url) ? await loadTrustStore({ caFile: identity.caFile }) : undefined;
  const userAgent = `postern-agent/${options.agentVersion ?? AGENT_VERSION}`;
  return (url, handlers) => openWsTransport(url, handlers, { userAgent, server: identity.server, trust });
}

function connectionOptions(
  options: AgentLoopOptions,
  { device, key, url }: { device: DeviceState; key: DeviceKey; url: string },
  openTransport: OpenTransport,
  once: boolean,
  rotateWhenOld: boolean,
  onTransport: (close: (code: number, reason: string) => void) => void,
): Parameters<typeof runConnection>[0] {
  const agentVersion = options.agentVersion ?? AGENT_VERSION;
  return {
    url,
    device,
    key,
    store: options.store,
    collector: options.collector,
    postureChanged: options.postureChanged,
    log: options.log,
    once,
    rotateWhenOld,
    checkIntervalMs: options.checkIntervalMs ?? 60_000,
    answerTimeoutMs: options.answerTimeoutMs ?? 30_000,
    retryBackoff: options.retryBackoff,
    now: options.now ?? Date.now,
    agentVersion,
    openTransport,
    onTransport,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

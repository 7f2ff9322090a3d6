import { MAX_FRAME_BYTES, serverFrame, type ErrorFrame, type Posture, type ResultFrame, type ServerFrame } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { AgentError, reasonOf } from '../errors.js';
import type { DeviceKey } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import { signEvidence } from './evidence.js';
import type { ReportAnswer, ReportDecision, ReportProtocol } from './report-protocol.js';
import type { SeqSource } from './seq.js';

/** What happened on the stream that the loop around the session acts on. */
export type SessionEvent =
  | { kind: 'challenge'; serverTime: number }
  | { kind: 'sent'; seq: number; reason: string }
  | { kind: 'result'; result: ResultFrame; reason: string }
  | { kind: 'refused'; error: ErrorFrame; decision: ReportDecision; retrying: boolean }
  | { kind: 'config'; reportIntervalS: number; keyMaxAgeS?: number | null }
  | { kind: 'report_failed'; reason: string; error: unknown };

export interface SessionOptions {
  device_id: string;
  ueid: string;
  key: DeviceKey;
  collector: Collector;
  seq: SeqSource;
  /** Decides every answer and keeps what it says; the session only carries the frames. */
  protocol: ReportProtocol;
  /** Hand one encoded frame to the transport. */
  send(text: string): void;
  onEvent(event: SessionEvent): void;
  log: Logger;
  now?: () => number;
  agentVersion?: string;
}

interface InFlight {
  seq: number;
  reason: string;
  posture: Posture;
}

/**
 * The agent's side of one `/v1/agent` connection, without the socket: it reads
 * server frames (each checked against the schema; anything else is ignored),
 * keeps the latest nonce, turns report requests into signed attestations, and
 * hands every answer to the report protocol, doing what it decides.
 *
 * Each nonce is single-use and the server's answer carries the next one, so at
 * most one attestation is in flight; requests made meanwhile wait (the newest
 * reason wins) and go out as soon as the answer brings a nonce.
 */
export class AgentSession {
  private nonce: string | null = null;
  private challenged = false;
  private working = false;
  private inFlight: InFlight | null = null;
  private wanted: { reason: string; posture?: Posture | undefined } | null = null;
  /** Answers the protocol is still settling: nothing is signed meanwhile (a seq may be skipped ahead). */
  private settling = 0;
  private settled: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** True once the server accepted an attestation on this connection. */
  authenticated = false;
  /** The posture of the last accepted report, to compare fresh collections with. */
  lastReported: Posture | null = null;

  constructor(private readonly options: SessionOptions) {}

  /** One text frame from the server. */
  receive(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.options.log.warn('ignored a server frame that is not JSON');
      return;
    }
    const parsed = serverFrame.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const type = typeof (json as { type?: unknown })?.type === 'string' ? ` "${String((json as { type: string }).type).slice(0, 32)}"` : '';
      this.options.log.warn(`ignored a server frame${type} that does not match the protocol (${issue?.path.join('.') || 'frame'}: ${issue?.message})`);
      return;
    }
    this.handle(parsed.data);
  }

  handle(frame: ServerFrame): void {
    if (this.closed) return;
    switch (frame.type) {
      case 'challenge':
        this.nonce = frame.nonce;
        this.options.onEvent({ kind: 'challenge', serverTime: frame.server_time });
        if (!this.challenged) {
          this.challenged = true;
          this.requestReport('connected');
        } else {
          this.pump();
        }
        return;
      case 'result':
      case 'error':
        this.answer(frame);
        return;
      case 'collect':
        this.requestReport('server asked');
        return;
      case 'config':
        this.options.onEvent({ kind: 'config', reportIntervalS: frame.report_interval_s, ...(frame.key_max_age_s !== undefined ? { keyMaxAgeS: frame.key_max_age_s } : {}) });
        return;
    }
  }

  /** Report as soon as a nonce is at hand; `posture` skips collecting when it was just read. */
  requestReport(reason: string, posture?: Posture): void {
    if (this.closed) return;
    this.wanted = { reason, posture };
    this.pump();
  }

  /** True while an attestation waits for the server's answer. */
  get awaitingAnswer(): boolean {
    return this.inFlight !== null;
  }

  /** Stop: nothing is sent after this, even by a report already being prepared. */
  close(): void {
    this.closed = true;
    this.wanted = null;
    clearTimeout(this.retryTimer);
  }

  /** Settles once every answer received so far has been decided and its effects saved. */
  idle(): Promise<void> {
    return this.settled;
  }

  private answer(frame: ResultFrame | ErrorFrame): void {
    const sent = this.inFlight;
    this.inFlight = null;
    this.nonce = frame.nonce ?? null;
    this.settling++;
    this.settled = this.settled
      .then(() => this.settle(frame, sent))
      .catch((err: unknown) => this.options.log.error(`could not act on the server's answer: ${reasonOf(err)}`))
      .finally(() => {
        this.settling--;
        this.pump();
      });
  }

  private async settle(frame: ResultFrame | ErrorFrame, sent: InFlight | null): Promise<void> {
    const answer: ReportAnswer = frame.type === 'result' ? { kind: 'result', result: frame } : { kind: 'refused', refusal: { code: frame.code, message: frame.message } };
    const reason = sent?.reason ?? 'unsolicited';
    const decision = await this.options.protocol.settle(answer, reason);
    if (frame.type === 'result') {
      this.authenticated = true;
      if (sent) {
        this.lastReported = sent.posture;
        if (sent.seq !== frame.seq) this.options.log.warn(`the server answered seq ${frame.seq} to report ${sent.seq}`);
      }
      this.options.onEvent({ kind: 'result', result: frame, reason });
      return;
    }
    // Only a report this session sent is sent again; it goes with the nonce the refusal carried.
    const again = sent && frame.nonce ? { reason: `retry after ${frame.code}`, posture: sent.posture } : null;
    if (again && decision.action === 'retry_now') this.wanted ??= again;
    if (again && decision.action === 'retry_later' && !this.closed) {
      this.retryTimer = setTimeout(() => {
        this.wanted ??= again;
        this.pump();
      }, decision.delayMs);
    }
    const retrying = again !== null && (decision.action === 'retry_now' || decision.action === 'retry_later');
    this.options.onEvent({ kind: 'refused', error: frame, decision, retrying });
  }

  private pump(): void {
    if (this.closed || this.working || this.settling > 0 || this.inFlight || !this.nonce || !this.wanted) return;
    const { reason, posture } = this.wanted;
    this.wanted = null;
    this.working = true;
    void this.report(reason, posture).finally(() => {
      this.working = false;
      this.pump();
    });
  }

  private async report(reason: string, given: Posture | undefined): Promise<void> {
    const { options } = this;
    try {
      const posture = given ?? (await options.collector.collect());
      if (this.closed) return;
      // Read the nonce only now: a challenge may have replaced it while collecting.
      const nonce = this.nonce;
      if (!nonce) {
        this.wanted ??= { reason, posture };
        return;
      }
      const seq = await options.seq.next();
      const token = await signEvidence({
        key: options.key,
        device_id: options.device_id,
        ueid: options.ueid,
        nonce,
        seq,
        posture,
        ...(options.now ? { now: options.now } : {}),
        ...(options.agentVersion ? { agentVersion: options.agentVersion } : {}),
      });
      const text = JSON.stringify({ type: 'attestation', token });
      if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
        throw new AgentError('evidence_too_large', `the attestation is ${Buffer.byteLength(text)} bytes, over the protocol's ${MAX_FRAME_BYTES}`);
      }
      if (this.closed) return;
      this.nonce = null;
      this.inFlight = { seq, reason, posture };
      // This report replaces one waiting to be sent again later.
      clearTimeout(this.retryTimer);
      options.send(text);
      options.onEvent({ kind: 'sent', seq, reason });
    } catch (err) {
      options.log.error(`could not prepare a report (${reason}): ${reasonOf(err)}`);
      options.onEvent({ kind: 'report_failed', reason, error: err });
    }
  }
}

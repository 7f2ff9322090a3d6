import type { ResultFrame } from '@postern/shared';
import { reasonOf, StreamError } from '../errors.js';
import type { Logger } from '../log.js';
import { describeChecks, describeVerdict } from '../results/describe.js';
import type { StateStore } from '../state/store.js';
import { Backoff, formatDelay } from './backoff.js';
import { markRevoked, saveResult } from './persist.js';
import type { SeqSource } from './seq.js';

/** A report the server refused, in its words: the `code` decides, the message is for a person. */
export interface Refusal {
  code: string;
  message: string;
}

/** How one report ended, for `run --once`. */
export type OnceOutcome = { accepted: true; result: ResultFrame } | NotAccepted;
export type NotAccepted = { accepted: false; refused: Refusal } | { accepted: false; failure: string };

/** What came back for one attestation, whichever transport carried it. */
export type ReportAnswer =
  | { kind: 'result'; result: ResultFrame }
  | { kind: 'refused'; refusal: Refusal; retryAfterMs?: number | undefined }
  /**
   * Nothing the server said: unreachable, a proxy's page, a body this agent cannot read.
   * `final` when asking again cannot help: not a Postern server, a certificate refused.
   */
  | { kind: 'failed'; reason: string; retryAfterMs?: number | undefined; final?: boolean };

/** What the transport does next with the report. */
export type ReportDecision =
  | { action: 'accept'; result: ResultFrame }
  /** Send the report again at once, with a new nonce (and, after `replayed_seq`, a higher seq). */
  | { action: 'retry_now'; code: RetryNowCode }
  /** Send the report again after `delayMs`, with a new nonce. */
  | { action: 'retry_later'; delayMs: number }
  /** Stop the agent: exit status 3, no restart. */
  | { action: 'revoked'; error: StreamError }
  | { action: 'give_up'; outcome: NotAccepted };

/** Refusals one immediate retry fixes: the new nonce, or a seq above the one the server saw. */
const RETRY_NOW = ['stale_nonce', 'replayed_seq'] as const;
type RetryNowCode = (typeof RETRY_NOW)[number];

/** Refusals that mean "not now": the same report is welcome after a pause. */
const RETRY_LATER: ReadonlySet<string> = new Set(['rate_limited', 'database_unavailable']);

/** How often one report is sent again after a pause before a one-shot report gives up. */
export const LATER_ATTEMPTS = 3;

/** The longest pause honoured: a larger Retry-After is waited this long. */
const MAX_WAIT_MS = 5 * 60_000;

const revokedError = () =>
  new StreamError(
    'revoked',
    'the server says this device is revoked or its enrollment has expired: ask your administrator, then enroll again with `postern-agent enroll --force`',
  );

/** Retries the current report has used up. */
export interface Attempts {
  retriedNow: boolean;
  laterLeft: number;
}

/**
 * The agent's rules for an answer, without effects. Decided by the server's `code`
 * alone: an HTTP status or a proxy's page never makes a device revoked.
 */
export function decide(answer: ReportAnswer, attempts: Attempts, nextBackoffMs: () => number): ReportDecision {
  const later = (askedMs: number | undefined): ReportDecision => ({ action: 'retry_later', delayMs: Math.min(askedMs ?? nextBackoffMs(), MAX_WAIT_MS) });
  switch (answer.kind) {
    case 'result':
      return { action: 'accept', result: answer.result };
    case 'refused': {
      const { code } = answer.refusal;
      if (code === 'revoked') return { action: 'revoked', error: revokedError() };
      if (isRetryNow(code) && !attempts.retriedNow) return { action: 'retry_now', code };
      if (RETRY_LATER.has(code) && attempts.laterLeft > 0) return later(answer.retryAfterMs);
      return { action: 'give_up', outcome: { accepted: false, refused: answer.refusal } };
    }
    case 'failed':
      if (!answer.final && attempts.laterLeft > 0) return later(answer.retryAfterMs);
      return { action: 'give_up', outcome: { accepted: false, failure: answer.reason } };
  }
}

function isRetryNow(code: string): code is RetryNowCode {
  return (RETRY_NOW as readonly string[]).includes(code);
}

export interface ReportProtocolOptions {
  store: StateStore;
  seq: SeqSource;
  log: Logger;
  now?: () => number;
  /** Pauses one report may take before giving up: `LATER_ATTEMPTS` by default, Infinity for the long-running stream. */
  laterAttempts?: number;
  /** Pauses when the server gives no Retry-After. */
  backoff?: Backoff;
}

/**
 * The report protocol both transports share: each answer is decided by `decide` and
 * its effects on the device's state are carried out here (result saved, seq skipped
 * ahead, device marked revoked), so the WebSocket and HTTP transports only move
 * frames and requests and do what the decision says.
 */
export class ReportProtocol {
  private retriedNow = false;
  private laterUsed = 0;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly laterAttempts: number;

  constructor(private readonly options: ReportProtocolOptions) {
    this.backoff = options.backoff ?? new Backoff({ baseMs: 2_000, capMs: 60_000 });
    this.now = options.now ?? Date.now;
    this.laterAttempts = options.laterAttempts ?? LATER_ATTEMPTS;
  }

  /** Decide what `answer` means for the report `label` names, and apply it to the state. */
  async settle(answer: ReportAnswer, label: string): Promise<ReportDecision> {
    const { log, store } = this.options;
    const decision = decide(answer, { retriedNow: this.retriedNow, laterLeft: this.laterAttempts - this.laterUsed }, () => this.backoff.next());
    const said = answer.kind === 'refused' ? `report refused by the server (${answer.refusal.code}): ${answer.refusal.message}` : answer.kind === 'failed' ? `no answer to the report: ${answer.reason}` : '';
    switch (decision.action) {
      case 'accept': {
        this.startOver();
        this.backoff.reset();
        const { result } = decision;
        // The server has the report either way; a state write that fails only loses the local copy.
        await saveResult(store, result, this.now).catch((err: unknown) => log.error(`could not save the result: ${reasonOf(err)}`));
        log.info(`report ${result.seq} accepted (${label}): ${describeVerdict(result)}`);
        for (const line of describeChecks(result.checks)) log.info(line);
        break;
      }
      case 'retry_now':
        this.retriedNow = true;
        log.warn(`${said}; retrying now`);
        if (decision.code === 'replayed_seq') await this.options.seq.skipAhead();
        break;
      case 'retry_later':
        this.laterUsed++;
        log.warn(`${said}; trying again in ${formatDelay(decision.delayMs)}`);
        break;
      case 'revoked':
        log.warn(said);
        await markRevoked(store);
        break;
      case 'give_up':
        this.startOver();
        // A failure without a server's word is said once, by whoever gave up.
        if (answer.kind === 'refused') log.warn(said);
        break;
    }
    return decision;
  }

  /** The next report gets its own retries. */
  private startOver(): void {
    this.retriedNow = false;
    this.laterUsed = 0;
  }
}

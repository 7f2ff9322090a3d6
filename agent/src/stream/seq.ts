import type { StateStore } from '../state/store.js';

/** Source of attestation sequence numbers. */
export interface SeqSource {
  /** The next number, already made durable: a crash after this never reuses it. */
  next(): Promise<number>;
  /** The server saw a higher number than ours (state restored from a backup): jump ahead. */
  skipAhead(): Promise<void>;
}

/**
 * `seq` must grow strictly per device, across reconnects and restarts, so the
 * last one used is persisted in device.json before the attestation carrying it
 * is sent, and the next is always that plus one.
 */
export class PersistedSeq implements SeqSource {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {}

  async next(): Promise<number> {
    const device = await this.store.updateDevice((d) => ({ ...d, last_seq: d.last_seq + 1 }));
    return device.last_seq;
  }

  /**
   * Counting from 1 stays far below the current time in milliseconds, so jumping to
   * it clears whatever a stale device.json left behind without needing the server's value.
   */
  async skipAhead(): Promise<void> {
    await this.store.updateDevice((d) => ({ ...d, last_seq: Math.max(d.last_seq, this.now()) }));
  }
}

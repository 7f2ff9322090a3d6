/** One item's outcome in a batch: a batch can refuse some items and accept the rest. */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface MicroBatchOptions {
  /** Most items one run handles. */
  maxBatch: number;
  /** Runs at once (each holds a database connection). */
  maxInFlight: number;
  /** Items waiting beyond this are refused at once with `Overloaded`: overload must not grow memory. */
  maxQueued: number;
  /** Told the size of every batch as it starts (for metrics). */
  onBatch?: (size: number) => void;
}

export class Overloaded extends Error {
  readonly code = 'overloaded';
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Runs the calls made while earlier runs were busy as one run (one round trip, one commit):
 * an idle system answers each call at once, a loaded one in growing batches, so the cost per
 * item falls as load rises. The queue is bounded; past it, calls fail fast.
 */
export class MicroBatch<I, O> {
  readonly #queue: Waiting<I, O>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(
    private readonly run: (items: readonly I[]) => Promise<ReadonlyArray<Outcome<O>>>,
    private readonly options: MicroBatchOptions,
  ) {}

  submit(item: I): Promise<O> {
    if (this.#queue.length >= this.options.maxQueued) return Promise.reject(new Overloaded(`${this.#queue.length} requests are already waiting`));
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Items waiting for a run. */
  get queued(): number {
    return this.#queue.length;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.options.maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    // setImmediate runs after this turn's I/O callbacks, so requests read together run together.
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight < this.options.maxInFlight && this.#queue.length > 0) void this.#runBatch(this.#queue.splice(0, this.options.maxBatch));
    });
  }

  async #runBatch(batch: Waiting<I, O>[]): Promise<void> {
    this.#inFlight++;
    this.options.onBatch?.(batch.length);
    try {
      const outcomes = await this.run(batch.map((w) => w.item));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (!outcome) waiting.reject(new Error(`a batch of ${batch.length} returned ${outcomes.length} outcomes`));
        else if (outcome.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}

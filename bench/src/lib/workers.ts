/**
 * Load generators run in their own processes (child_process.fork of dist/worker.js), so
 * their CPU is never counted as the server's. A worker gets one job, may emit events while
 * it runs (window-start, progress…), may receive commands, and ends with one result.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { track } from './children.js';
import { workerEntry } from './paths.js';

export type WorkerMessage =
  | { type: 'event'; name: string; data?: unknown }
  | { type: 'result'; data: unknown }
  | { type: 'error'; message: string; stack?: string };

export class WorkerHandle<R> {
  readonly result: Promise<R>;
  private readonly listeners = new Map<string, Array<(data: unknown) => void>>();

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    this.result = new Promise<R>((resolve, reject) => {
      let settled = false;
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'event') for (const listener of this.listeners.get(message.name) ?? []) listener(message.data);
        else if (message.type === 'result') {
          settled = true;
          resolve(message.data as R);
        } else if (message.type === 'error') {
          settled = true;
          reject(new Error(`${label}: ${message.message}${message.stack ? `\n${message.stack}` : ''}`));
        }
      });
      child.once('exit', (code, signal) => {
        if (!settled) reject(new Error(`${label} exited (${code ?? signal}) without a result`));
      });
    });
    // A rejected result nobody awaited yet must not crash the run before it is awaited.
    this.result.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  on(name: string, listener: (data: unknown) => void): this {
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
    return this;
  }

  /** Resolves on the next event of that name. */
  once(name: string, timeoutMs = 600_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no "${name}" within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      this.on(name, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      this.result.then(
        () => reject(new Error(`${this.label} finished before "${name}"`)),
        (error: unknown) => reject(error as Error),
      );
    });
  }

  /**
   * Tells the job something; a worker that has already finished has nothing to be told (its
   * channel can close between the check and the write: the callback takes that EPIPE, which
   * would otherwise be an unhandled 'error' event ending the bench).
   */
  command(name: string, data?: unknown): void {
    if (this.child.connected) this.child.send({ type: 'command', name, data }, (error) => void error);
  }

  /** Starts the job (sent separately, so the parent can pin the process to a core first). */
  start(mode: string, params: unknown): this {
    this.child.send({ type: 'start', mode, params });
    return this;
  }
}

export function forkWorker<R>(label: string, options: { nodeArgs?: string[] } = {}): WorkerHandle<R> {
  const child = track(
    fork(workerEntry, [], {
      execArgv: options.nodeArgs ?? [],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  return new WorkerHandle<R>(child, label);
}

/** Forks a worker and starts its job at once. */
export function startWorker<R>(label: string, mode: string, params: unknown, options: { nodeArgs?: string[] } = {}): WorkerHandle<R> {
  return forkWorker<R>(label, options).start(mode, params);
}

/**
 * Entry point of a load-generator process (forked by lib/workers.ts). It waits for one
 * `start` message, runs that job, sends its result and exits.
 */
import type { WorkerMessage } from './lib/workers.js';

export interface WorkerIO {
  emit(name: string, data?: unknown): void;
  /** Resolves when the parent sends this command. */
  command(name: string): Promise<unknown>;
}

type Job = (params: never, io: WorkerIO) => Promise<unknown>;
// Each process loads only the module of its job (a bare server should not carry the load generators).
const jobs: Record<string, () => Promise<Job>> = {
  'verify-baseline': async () => (await import('./load/verify.js')).verifyBaseline as Job,
  'koa-server': async () => (await import('./load/baseline-servers.js')).koaServer as Job,
  'ws-server': async () => (await import('./load/baseline-servers.js')).wsServer as Job,
  'report-once': async () => (await import('./load/agents.js')).reportOnce as Job,
  ingest: async () => (await import('./load/agents.js')).ingestLoad as Job,
  hold: async () => (await import('./load/agents.js')).holdConnections as Job,
  authz: async () => (await import('./load/authz.js')).authzLoad as Job,
  compliance: async () => (await import('./load/compliance.js')).complianceLoad as Job,
};

const send = (message: WorkerMessage) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
const waiting = new Map<string, Array<(data: unknown) => void>>();
const io: WorkerIO = {
  emit: (name, data) => void send({ type: 'event', name, data }),
  command: (name) =>
    new Promise((resolve) => {
      const list = waiting.get(name) ?? [];
      list.push(resolve);
      waiting.set(name, list);
    }),
};

process.on('message', (message: { type: 'start'; mode: string; params: unknown } | { type: 'command'; name: string; data?: unknown }) => {
  if (message.type === 'command') {
    const list = waiting.get(message.name) ?? [];
    waiting.delete(message.name);
    for (const resolve of list) resolve(message.data);
    return;
  }
  const load = jobs[message.mode];
  if (!load) {
    void send({ type: 'error', message: `unknown job ${message.mode}` }).then(() => process.exit(1));
    return;
  }
  load().then((job) => job(message.params as never, io)).then(
    async (data) => {
      await send({ type: 'result', data });
      process.exit(0);
    },
    async (error: unknown) => {
      await send({ type: 'error', message: (error as Error).message, stack: (error as Error).stack });
      process.exit(1);
    },
  );
});
// The parent went away: nothing left to report to.
process.on('disconnect', () => process.exit(0));

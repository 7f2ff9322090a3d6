/**
 * Forward-auth load: autocannon with a fresh DPoP proof on every request. Proofs are made
 * before the timed window by the agent's own `createDpopProof` (unique jti, htm, htu, iat,
 * ath, and the server's DPoP nonce when it asks for one), each signed by the key of the device
 * whose EAR token it goes with, spread over all the devices. Latency is recorded here from every response at full precision (autocannon's
 * own histogram rounds to whole milliseconds).
 */
import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { createDpopProof } from '@postern/agent';
import { deriveDevice, deviceKey } from '../lib/fleet.js';
import { Reservoir, type LatencySummary } from '../lib/stats.js';
import type { WorkerIO } from '../worker.js';

export interface AuthzLoadParams {
  /** The URL requested, and the proofs' htu. */
  target: string;
  tokens: Array<[number, string]>;
  /** How many proofs to make before the window. */
  proofs: number;
  /** true: every proof is sent once and the run ends when they are used up; false: the pool is reused (baseline). */
  unique: boolean;
  connections: number;
  warmupS: number;
  durationS: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
}

export interface AuthzLoadResult extends HttpWindowResult {
  devices: number;
  proofSeconds: number;
  proofsPerSecond: number;
  exhausted: boolean;
}

/**
 * Requests at a steady rate (open loop): one is due every 1/rate s, sent on a free keep-alive
 * connection; latency runs from when it was written to when the answer ended. autocannon's own
 * rate limiting sends each second's quota in a burst, which measures its bursts, not the server.
 */
export async function paced(
  params: { target: string; connections: number; warmupS: number; durationS: number; overallRate: number },
  next: () => { path?: string; headers: Record<string, string> },
  onResponse: (status: number, ms: number) => void,
  onError: () => void,
): Promise<void> {
  const target = new URL(params.target);
  const agent = new Agent({ keepAlive: true, maxSockets: params.connections });
  const interval = 1000 / params.overallRate;
  const started = performance.now();
  const end = started + (params.warmupS + params.durationS) * 1000;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const send = () => {
    const { path, headers } = next();
    const p = new Promise<void>((resolve) => {
      const at = performance.now();
      const request = httpRequest({ host: target.hostname, port: target.port, path: path ?? target.pathname, method: 'GET', agent, headers }, (response) => {
        response.resume();
        response.on('end', () => {
          onResponse(response.statusCode ?? 0, performance.now() - at);
          resolve();
        });
      });
      request.on('error', () => {
        onError();
        resolve();
      });
      request.end();
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  };
  while (performance.now() < end) {
    const due = Math.floor((performance.now() - started) / interval) + 1;
    while (sent < due) {
      send();
      sent++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, started + sent * interval - performance.now())));
  }
  await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 10_000))]);
  agent.destroy();
}

/** What one measured window of HTTP requests gave, as the client saw it. */
export interface HttpWindowResult {
  windowSeconds: number;
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  latency: LatencySummary;
  errors: number;
  generatorCpuPercent: number;
}

/**
 * `count` requests shaped by `next`, `connections` at a time, before the load: every device asked
 * once, so the window measures what a gateway asking about its devices again gets (the standing
 * from the server's memory), not each device's first read from the database.
 */
async function prime(target: string, count: number, connections: number, next: () => { path?: string; headers: Record<string, string> }): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (sent < count) {
        sent++;
        const { path, headers } = next();
        const response = await fetch(path ? new URL(path, target) : target, { headers });
        await response.arrayBuffer();
      }
    }),
  );
}

/**
 * GETs to `target`, each shaped by `next` (after `prime` requests that count for nothing),
 * saturated with autocannon (at most `amount` when given) or paced at `overallRate`; only answers
 * inside the window after `warmupS` count, and `window-start` / `window-end` tell the bench when
 * to read the server's CPU.
 */
export async function httpWindow(
  params: { target: string; connections: number; warmupS: number; durationS: number; overallRate?: number | undefined; amount?: number | undefined; prime?: number },
  next: () => { path?: string; headers: Record<string, string> },
  io: WorkerIO,
): Promise<HttpWindowResult> {
  if (params.prime) await prime(params.target, params.prime, params.connections, next);
  const statuses: Record<string, number> = {};
  const latency = new Reservoir();
  let requests = 0;
  let errors = 0;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  const record = (statusCode: number, responseTime: number) => {
    const now = performance.now();
    if (now < windowStart || now > windowEnd) return;
    requests++;
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    latency.add(responseTime);
  };

  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let stop: () => void = () => undefined;
  if (params.overallRate) {
    void paced({ ...params, overallRate: params.overallRate }, next, record, () => errors++).then(() => finish());
  } else {
    const instance = autocannon(
      {
        url: params.target,
        connections: params.connections,
        pipelining: 1,
        ...(params.amount !== undefined ? { amount: params.amount } : { duration: params.warmupS + params.durationS + 5 }),
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, ...next() }) }],
      },
      () => finish(),
    );
    // autocannon emits (client, statusCode, bytes, responseTime); its typings omit the client.
    const onResponse = (...args: unknown[]) => {
      const [statusCode, , responseTime] = (args.length >= 4 ? args.slice(1) : args) as [number, number, number];
      record(statusCode, responseTime);
    };
    instance.on('response', onResponse as never);
    instance.on('reqError', () => errors++);
    stop = () => instance.stop();
  }

  let cpuBefore = process.cpuUsage();
  const warm = setTimeout(() => {
    windowStart = performance.now();
    cpuBefore = process.cpuUsage();
    io.emit('window-start');
  }, params.warmupS * 1000);
  const end = setTimeout(() => {
    windowEnd = performance.now();
    stop();
  }, (params.warmupS + params.durationS) * 1000);
  await done;
  clearTimeout(warm);
  clearTimeout(end);
  windowEnd = Math.min(windowEnd, performance.now());
  const cpu = process.cpuUsage(cpuBefore);
  io.emit('window-end');
  const windowSeconds = Number.isFinite(windowStart) ? (windowEnd - windowStart) / 1000 : 0;
  return {
    windowSeconds,
    requests,
    perSecond: windowSeconds > 0 ? requests / windowSeconds : 0,
    statuses,
    latency: latency.summary(),
    errors,
    generatorCpuPercent: windowSeconds > 0 ? (100 * (cpu.user + cpu.system)) / 1e6 / windowSeconds : 0,
  };
}

export async function authzLoad(params: AuthzLoadParams, io: WorkerIO): Promise<AuthzLoadResult> {
  const keys = new Map(params.tokens.map(([index]) => [index, deviceKey(deriveDevice(index))]));
  // A server that asks for DPoP nonces (POSTERN_DPOP_NONCE) names its current one in every answer,
  // a refusal too: the proofs carry it, as a client told it would sign the next one with it.
  const probe = await fetch(params.target);
  const nonce = probe.headers.get('dpop-nonce') ?? undefined;
  await probe.body?.cancel();
  const started = performance.now();
  const pool: Array<Record<string, string>> = [];
  for (let i = 0; i < params.proofs; i++) {
    const [index, token] = params.tokens[i % params.tokens.length] as [number, string];
    const proof = await createDpopProof({ key: keys.get(index) as ReturnType<typeof deviceKey>, method: 'GET', url: params.target, accessToken: token, ...(nonce ? { nonce } : {}) });
    pool.push({ authorization: `DPoP ${token}`, dpop: proof });
  }
  const proofSeconds = (performance.now() - started) / 1000;

  let next = 0;
  let exhausted = false;
  // Proofs handed to requests that were built but never sent are wasted: keep a margin.
  const primed = params.unique ? params.tokens.length : 0;
  const usable = params.unique ? Math.max(1, pool.length - primed - 4 * params.connections) : undefined;
  const nextHeaders = () => {
    const headers = pool[next++ % pool.length] as Record<string, string>;
    if (params.unique && next > pool.length) exhausted = true;
    return { headers };
  };
  const window = await httpWindow({ ...params, amount: usable, prime: primed }, nextHeaders, io);
  return { devices: params.tokens.length, proofSeconds, proofsPerSecond: params.proofs / proofSeconds, ...window, exhausted };
}

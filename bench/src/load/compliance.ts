/**
 * Compliance API load: `GET /v1/devices/{id}/compliance` with one gateway key, the device id
 * moving over the given devices request by request; saturated with autocannon, or paced at a
 * rate (the open-loop client of load/authz.ts). The bare Koa baseline gets the same requests.
 * Latency is recorded here from every response at full precision.
 */
import autocannon from 'autocannon';
import { Reservoir, type LatencySummary } from '../lib/stats.js';
import type { WorkerIO } from '../worker.js';
import { paced } from './authz.js';

export interface ComplianceLoadParams {
  /** The server's base URL. */
  base: string;
  key: string;
  deviceIds: string[];
  connections: number;
  warmupS: number;
  durationS: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
}

export interface ComplianceLoadResult {
  windowSeconds: number;
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  latency: LatencySummary;
  errors: number;
  generatorCpuPercent: number;
}

export async function complianceLoad(params: ComplianceLoadParams, io: WorkerIO): Promise<ComplianceLoadResult> {
  const headers = { authorization: `Bearer ${params.key}` };
  const paths = params.deviceIds.map((id) => `/v1/devices/${id}/compliance`);
  let next = 0;
  const nextPath = () => paths[next++ % paths.length] as string;
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
    void paced({ target: `${params.base}/`, connections: params.connections, warmupS: params.warmupS, durationS: params.durationS, overallRate: params.overallRate }, () => ({ path: nextPath(), headers }), record, () => errors++).then(() => finish());
  } else {
    const instance = autocannon(
      {
        url: params.base,
        connections: params.connections,
        pipelining: 1,
        duration: params.warmupS + params.durationS + 5,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: nextPath(), headers }) }],
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

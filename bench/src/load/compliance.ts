/**
 * Compliance API load: `GET /v1/devices/{id}/compliance` with one gateway key, the device id
 * moving over the given devices request by request; saturated with autocannon, or paced at a
 * rate (the open-loop client of load/authz.ts). The bare Koa baseline gets the same requests.
 * Latency is recorded here from every response at full precision.
 */
import type { WorkerIO } from '../worker.js';
import { httpWindow, type HttpWindowResult } from './authz.js';

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

export type ComplianceLoadResult = HttpWindowResult;

export async function complianceLoad(params: ComplianceLoadParams, io: WorkerIO): Promise<ComplianceLoadResult> {
  const headers = { authorization: `Bearer ${params.key}` };
  const paths = params.deviceIds.map((id) => `/v1/devices/${id}/compliance`);
  let next = 0;
  return httpWindow({ ...params, target: `${params.base}/`, prime: paths.length }, () => ({ path: paths[next++ % paths.length] as string, headers }), io);
}

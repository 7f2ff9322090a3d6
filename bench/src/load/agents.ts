/**
 * Simulated agents: each speaks postern.v1 over its own WebSocket as the real agent does
 * (the attestation is built and signed by the agent's own `signEvidence`, with the device's
 * key and the nonce the server just issued), reports, and for held connections pings every
 * 60 s like the agent's transport.
 */
import WebSocket from 'ws';
import { buildEvidenceClaims, signCompact } from '@postern/agent';
import { AGENT_STREAM_PATH, DEVICE_ALG, EVIDENCE_PROFILE, EVIDENCE_TYP, MAX_FRAME_BYTES, SUBPROTOCOL, SWNAME, type EvidenceClaims } from '@postern/shared';
import { deriveDevice, deviceKey, postureOf, type FleetDevice } from '../lib/fleet.js';
import { Reservoir, type LatencySummary } from '../lib/stats.js';
import type { WorkerIO } from '../worker.js';

interface Frame {
  type: string;
  nonce?: string;
  code?: string;
  message?: string;
  token?: string;
  verdict?: string;
}

/** Agents per source address: a fleet comes from many networks, an office's NAT holds a few hundred devices. */
const AGENTS_PER_ADDRESS = 200;

/**
 * The loopback source address of a simulated agent, one per "office" of 200, so the server's
 * per-address limits see a fleet as it is, not as one address holding every device.
 */
export function officeAddress(index: number): string {
  const office = Math.floor(index / AGENTS_PER_ADDRESS);
  return `127.${10 + Math.floor(office / 250)}.${office % 250}.1`;
}

/** What one agent sent and got back: each attestation must get exactly one answer. */
export interface AnswerCounts {
  /** Attestations sent. */
  sent: number;
  /** `result` frames received. */
  results: number;
  /** `error` frames received. */
  errors: number;
  /** `result` or `error` frames that came while no attestation waited for one (a duplicate answer). */
  unsolicited: number;
}

export class SimAgent {
  nonce: string | null = null;
  closedWith: number | null = null;
  readonly answers: AnswerCounts = { sent: 0, results: 0, errors: 0, unsolicited: 0 };
  private ws: WebSocket | null = null;
  private waiter: { resolve(f: Frame): void; reject(e: Error): void } | null = null;
  private lastSeq = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly key: ReturnType<typeof deviceKey>;

  constructor(readonly device: FleetDevice) {
    this.key = deviceKey(device);
  }

  connect(serverUrl: string, localAddress?: string): Promise<void> {
    const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}${AGENT_STREAM_PATH}`, SUBPROTOCOL, {
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 30_000,
      perMessageDeflate: false,
      headers: { 'user-agent': 'postern-agent/0.1.0 (bench)' },
      localAddress: localAddress ?? officeAddress(this.device.index),
    });
    this.ws = ws;
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (typeof frame.nonce === 'string') this.nonce = frame.nonce;
      if (frame.type !== 'challenge' && frame.type !== 'result' && frame.type !== 'error') return;
      if (frame.type !== 'challenge') {
        this.answers[frame.type === 'result' ? 'results' : 'errors']++;
        if (!this.waiter) this.answers.unsolicited++;
      }
      const waiter = this.waiter;
      this.waiter = null;
      waiter?.resolve(frame);
    });
    ws.on('close', (code) => {
      this.closedWith = code;
      clearInterval(this.pingTimer);
      clearTimeout(this.pingTimer);
      const waiter = this.waiter;
      this.waiter = null;
      waiter?.reject(new Error(`closed ${code}`));
    });
    // Errors after the upgrade (resets) end in 'close' too; the listener stays so none is unhandled.
    ws.on('error', (error) => {
      const waiter = this.waiter;
      this.waiter = null;
      waiter?.reject(error);
    });
    return this.next(30_000).then((frame) => {
      if (frame.type !== 'challenge') throw new Error(`expected a challenge, got ${frame.type}`);
    });
  }

  private next(timeoutMs: number): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error('no frame within the timeout'));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Signs one attestation over the current nonce, sends it, and waits for the answer. */
  async attest(timeoutMs = 60_000): Promise<{ frame: Frame; sentAt: number; latencyMs: number }> {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.nonce) throw new Error('not connected');
    this.lastSeq = Math.max(this.lastSeq + 1, Date.now() * 10);
    const claims = evidenceClaims(this.device, this.nonce, this.lastSeq);
    // The agent's own JWS encoder; the header is the one signEvidence writes.
    const token = await signCompact(this.key, { alg: DEVICE_ALG, typ: EVIDENCE_TYP, kid: this.key.kid }, claims);
    const answer = this.next(timeoutMs);
    const sentAt = performance.now();
    this.ws.send(JSON.stringify({ type: 'attestation', token }));
    this.answers.sent++;
    const frame = await answer;
    return { frame, sentAt, latencyMs: performance.now() - sentAt };
  }

  /** The agent transport's heartbeat: a ping every interval, first one at a random phase. */
  startPings(intervalMs: number): void {
    this.pingTimer = setTimeout(() => {
      this.ws?.ping();
      this.pingTimer = setInterval(() => this.ws?.ping(), intervalMs);
    }, Math.random() * intervalMs);
  }

  close(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pingTimer);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'done');
    else this.ws?.terminate();
  }

  terminate(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pingTimer);
    this.ws?.terminate();
  }
}

let checked = false;
/**
 * The claims `buildEvidenceClaims` makes, built without its schema check so the load
 * generator spends its CPU on sending, not validating; the first ones of each process are
 * made by the agent's function itself and compared, so the two cannot drift apart.
 */
function evidenceClaims(device: FleetDevice, nonce: string, seq: number): EvidenceClaims {
  const posture = postureOf(device.index);
  const claims: EvidenceClaims = {
    eat_profile: EVIDENCE_PROFILE,
    iat: Math.floor(Date.now() / 1000),
    eat_nonce: nonce,
    ueid: device.ueid,
    swname: SWNAME,
    swversion: ['0.1.0'],
    device_id: device.id,
    seq,
    posture,
  };
  if (!checked) {
    const reference = buildEvidenceClaims({ key: deviceKey(device), device_id: device.id, ueid: device.ueid, nonce, seq, posture, agentVersion: '0.1.0', now: () => claims.iat * 1000 });
    if (JSON.stringify(reference) !== JSON.stringify(claims)) throw new Error(`the bench's evidence claims differ from the agent's:\n${JSON.stringify(claims)}\n${JSON.stringify(reference)}`);
    checked = true;
  }
  return claims;
}

/** Runs `fn` over `items` with at most `concurrency` at a time. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function count(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export interface ReportOnceResult {
  tokens: Array<[number, string]>;
  accepted: number;
  verdicts: Record<string, number>;
  refused: Record<string, number>;
  failures: number;
  failureSamples: string[];
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
}

/** Each device connects, reports once (as `postern-agent run --once` does) and closes; the EAR tokens come back. */
export async function reportOnce(params: { url: string; indices: number[]; concurrency: number; localAddress?: string }): Promise<ReportOnceResult> {
  const tokens: Array<[number, string]> = [];
  const verdicts: Record<string, number> = {};
  const refused: Record<string, number> = {};
  const failureSamples: string[] = [];
  const latency = new Reservoir();
  let failures = 0;
  const started = performance.now();
  await eachLimited(params.indices, params.concurrency, async (index) => {
    const agent = new SimAgent(deriveDevice(index));
    try {
      await agent.connect(params.url, params.localAddress);
      const { frame, latencyMs } = await agent.attest();
      if (frame.type === 'result' && frame.token) {
        tokens.push([index, frame.token]);
        count(verdicts, frame.verdict ?? '?');
        latency.add(latencyMs);
      } else count(refused, frame.code ?? frame.type);
    } catch (error) {
      failures++;
      if (failureSamples.length < 5) failureSamples.push((error as Error).message);
    } finally {
      agent.close();
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return { tokens, accepted: tokens.length, verdicts, refused, failures, failureSamples, seconds, perSecond: tokens.length / seconds, latency: latency.summary() };
}

export interface IngestLoadResult {
  connections: number;
  connectFailures: number;
  windowSeconds: number;
  accepted: number;
  perSecond: number;
  refused: Record<string, number>;
  closedByServer: Record<string, number>;
  latency: LatencySummary;
  latencySamples: Float64Array;
  /** CPU of this generator process during the window, % of one core. */
  generatorCpuPercent: number;
  failureSamples: string[];
  /** Over the whole run (not only the window), summed over the agents. */
  answers: AnswerCounts;
}

/**
 * Steady ingest: one connection per device, each reporting again `spacingMs` after its
 * previous report went out (or at once when the answer came later: the next nonce is in
 * the answer). Counts answers received inside the window.
 */
export async function ingestLoad(
  params: { url: string; indices: number[]; spacingMs: number; warmupMs: number; durationMs: number; connectConcurrency: number; localAddress?: string },
  io: WorkerIO,
): Promise<IngestLoadResult> {
  const agents = params.indices.map((i) => new SimAgent(deriveDevice(i)));
  const refused: Record<string, number> = {};
  const closedByServer: Record<string, number> = {};
  const failureSamples: string[] = [];
  const latency = new Reservoir();
  let connectFailures = 0;
  let accepted = 0;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let stopping = false;
  const loops: Array<Promise<void>> = [];

  const loop = async (agent: SimAgent) => {
    while (!stopping) {
      const began = performance.now();
      try {
        const { frame, sentAt, latencyMs } = await agent.attest();
        const at = sentAt + latencyMs;
        if (at >= windowStart && at <= windowEnd) {
          if (frame.type === 'result') {
            accepted++;
            latency.add(latencyMs);
          } else count(refused, frame.code ?? frame.type);
        }
      } catch (error) {
        if (agent.closedWith !== null) count(closedByServer, String(agent.closedWith));
        else if (failureSamples.length < 5) failureSamples.push((error as Error).message);
        return;
      }
      const wait = params.spacingMs - (performance.now() - began);
      if (wait > 0 && !stopping) await sleep(wait);
    }
  };

  // Connect everyone first, so the ramp does not compete with the window's reports. Each reports
  // once as soon as it has its challenge, as the agent does: the server closes a stream that has
  // not attested within 30 s of its upgrade (4408), and a ramp of thousands can take longer.
  const connected: SimAgent[] = [];
  await eachLimited(agents, params.connectConcurrency, async (agent) => {
    try {
      await agent.connect(params.url, params.localAddress);
      const { frame } = await agent.attest();
      if (frame.type !== 'result') throw new Error(`first report refused: ${frame.code ?? frame.type}`);
      connected.push(agent);
    } catch (error) {
      connectFailures++;
      if (failureSamples.length < 5) failureSamples.push(`connect: ${(error as Error).message}`);
    }
  });

  // Every generator ramps up on its own; the parent then starts them all together.
  io.emit('connected', { connections: connected.length });
  await io.command('go');
  // Each agent starts at a random point of its first interval, as a fleet's reports would be spread.
  for (const agent of connected) loops.push(sleep(Math.random() * params.spacingMs).then(() => loop(agent)));
  await sleep(params.warmupMs);
  windowStart = performance.now();
  const cpuBefore = process.cpuUsage();
  io.emit('window-start');
  await sleep(params.durationMs);
  windowEnd = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  io.emit('window-end');
  stopping = true;
  await Promise.race([Promise.all(loops), sleep(10_000)]);
  for (const agent of agents) agent.terminate();
  const windowSeconds = (windowEnd - windowStart) / 1000;
  return {
    connections: connected.length,
    connectFailures,
    windowSeconds,
    accepted,
    perSecond: accepted / windowSeconds,
    refused,
    closedByServer,
    latency: latency.summary(),
    latencySamples: latency.samples(),
    generatorCpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / windowSeconds,
    failureSamples,
    answers: sumAnswers(agents),
  };
}

function sumAnswers(agents: readonly SimAgent[]): AnswerCounts {
  const sum: AnswerCounts = { sent: 0, results: 0, errors: 0, unsolicited: 0 };
  for (const { answers } of agents) for (const key of Object.keys(sum) as Array<keyof AnswerCounts>) sum[key] += answers[key];
  return sum;
}

export interface HoldResult {
  attempted: number;
  connected: number;
  failures: number;
  closedByServer: Record<string, number>;
  connectSeconds: number;
  authLatency: LatencySummary;
  failureSamples: string[];
}

/**
 * Idle agents: each connects, authenticates with one valid attestation, then stays
 * connected, pinging every `pingIntervalMs`, until the parent says `release`.
 */
export async function holdConnections(
  params: { url: string; indices: number[]; localAddress?: string; connectConcurrency: number; pingIntervalMs: number },
  io: WorkerIO,
): Promise<HoldResult> {
  const held: SimAgent[] = [];
  const closedByServer: Record<string, number> = {};
  const failureSamples: string[] = [];
  const authLatency = new Reservoir();
  let failures = 0;
  const started = performance.now();
  await eachLimited(params.indices, params.connectConcurrency, async (index) => {
    const agent = new SimAgent(deriveDevice(index));
    try {
      await agent.connect(params.url, params.localAddress);
      const { frame, latencyMs } = await agent.attest();
      if (frame.type !== 'result') throw new Error(`refused: ${frame.code}`);
      authLatency.add(latencyMs);
      agent.startPings(params.pingIntervalMs);
      held.push(agent);
    } catch (error) {
      failures++;
      if (failureSamples.length < 5) failureSamples.push((error as Error).message);
      agent.terminate();
    }
  });
  const connectSeconds = (performance.now() - started) / 1000;
  io.emit('ready', { connected: held.length, failures });
  await io.command('release');
  for (const agent of held) if (agent.closedWith !== null) count(closedByServer, String(agent.closedWith));
  for (const agent of held) agent.terminate();
  return { attempted: params.indices.length, connected: held.length, failures, closedByServer, connectSeconds, authLatency: authLatency.summary(), failureSamples };
}

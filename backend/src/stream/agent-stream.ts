import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type ServerOptions, type WebSocket } from 'ws';
import { agentFrame, CloseCode, MAX_FRAME_BYTES, PROBLEM_CONTENT_TYPE, SUBPROTOCOL, type ServerFrame } from '@postern/shared';
import { AttestationError } from '../attestation/attestation-error.js';
import { exchangeAttestation } from '../attestation/exchange.js';
import { describeIssues } from '../http/describe-issues.js';
import { HttpError } from '../http/http-error.js';
import type { Backend } from '../context.js';
import { newNonce } from '../nonces/nonce.js';
import { TokenBucket } from '../ratelimit/token-bucket.js';
import type { Device } from '../store/schema.js';
import type { AgentConnection } from './connection-registry.js';

const FRAMES_PER_SECOND = 0.5;
const FRAME_BURST = 20;
const MAX_REFUSALS_BEFORE_CLOSE = 5;
const MAX_RATE_STRIKES = 3;
/** How long a closing socket may wait for the peer's close frame before it is destroyed (ws waits 30 s by default). */
const CLOSE_GRACE_MS = 1_000;
/** When a stream refused for the unauthenticated cap should try again. */
const CAP_RETRY_AFTER_S = 5;

/**
 * The agent stream (`GET /v1/agent`, subprotocol postern.v1). The server speaks first with a
 * challenge; the first valid attestation authenticates the connection and binds it to a device.
 */
export function createAgentStream(backend: Backend) {
  // closeTimeout is an option of ws 8.23 that its type declarations do not list yet.
  const options: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    maxPayload: MAX_FRAME_BYTES, // larger frames are closed with 1009 by ws itself
    closeTimeout: CLOSE_GRACE_MS, // so a peer that never answers a close (4408 …) holds no socket
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  };
  const wss = new WebSocketServer(options);

  wss.on('connection', (ws: WebSocket, _request: IncomingMessage, authenticated: () => void) => {
    if (ws.protocol !== SUBPROTOCOL) {
      ws.close(CloseCode.malformedFrame, `subprotocol ${SUBPROTOCOL} is required`);
      return;
    }
    serve(backend, ws, authenticated);
  });

  return {
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      // Counted from the upgrade request on, so sockets still in the handshake count too.
      const admitted = backend.limits.unauthenticatedStreams.admit(backend.clientAddress(request));
      if (typeof admitted === 'string') {
        backend.metrics.framesRejected.inc({ close_code: '429' });
        return refuseUpgrade(socket, admitted === 'server' ? 'this server holds as many unauthenticated agent streams as it takes (POSTERN_MAX_UNAUTHENTICATED_STREAMS)' : 'too many unauthenticated agent streams from this address (POSTERN_MAX_UNAUTHENTICATED_STREAMS_PER_ADDRESS)');
      }
      socket.once('close', admitted);
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request, admitted));
    },
    close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}

/** `rate_limited` as an HTTP answer to the upgrade, then the socket is gone. */
function refuseUpgrade(socket: Duplex, why: string): void {
  const body = JSON.stringify(new HttpError('rate_limited', `${why}: connect again in ${CAP_RETRY_AFTER_S} s`).toProblem());
  socket.end(
    `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${CAP_RETRY_AFTER_S}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/** `authenticated` takes the stream out of the unauthenticated count. */
function serve(backend: Backend, ws: WebSocket, authenticated: () => void): void {
  const { metrics } = backend;
  metrics.connections.inc();
  let nonce = newNonce();
  let device: Device | null = null;
  let refusals = 0;
  /** The report interval this connection's agent was last told (config frame). */
  let announcedInterval: number | null = null;
  let rateStrikes = 0;
  let queue: Promise<void> = Promise.resolve();
  const bucket = new TokenBucket(FRAME_BURST, FRAMES_PER_SECOND);

  const connection: AgentConnection = {
    send: (frame: ServerFrame) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    },
    close: (code, reason) => closeWith(code, reason),
  };
  const closeWith = (code: number, reason: string) => {
    metrics.framesRejected.inc({ close_code: String(code) });
    ws.close(code, reason.slice(0, 120));
  };
  const refuse = (error: AttestationError) => {
    nonce = newNonce();
    connection.send({ type: 'error', code: error.code, message: error.message, nonce });
    // Too much load or a database outage is not the agent's fault: it may try again on this stream with the new nonce.
    if (error.code === 'rate_limited' || error.code === 'database_unavailable') return;
    if (error.code === 'revoked') return closeWith(CloseCode.revoked, 'device revoked or expired');
    if (device === null) return closeWith(CloseCode.authenticationFailed, 'authentication failed');
    if (++refusals >= MAX_REFUSALS_BEFORE_CLOSE) closeWith(CloseCode.authenticationFailed, 'too many refused attestations');
  };

  /** Frames received and not yet answered: one that came in time is judged, however long its verification and write take. */
  let pending = 0;
  let deadlinePassed = false;
  const closeIfLate = () => {
    if (device === null && deadlinePassed && pending === 0 && ws.readyState === ws.OPEN) closeWith(CloseCode.attestationTimeout, `no valid attestation within ${backend.settings.attestationTimeoutS} s`);
  };
  const timer = setTimeout(() => {
    deadlinePassed = true;
    closeIfLate();
  }, backend.settings.attestationTimeoutS * 1000);
  timer.unref();

  connection.send({ type: 'challenge', nonce, server_time: backend.now() });

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!bucket.take()) {
      backend.metrics.attestationsRejected.inc({ code: 'rate_limited' });
      if (++rateStrikes > MAX_RATE_STRIKES) return closeWith(CloseCode.rateLimited, 'rate limited');
      return refuse(new AttestationError('rate_limited', `too many frames: at most ${FRAME_BURST} at once and one every ${1 / FRAMES_PER_SECOND} s after that`));
    }
    // Frames are handled one at a time, so each is checked against the nonce the previous answer issued.
    pending++;
    queue = queue
      .then(() => handle(data, isBinary))
      .catch((error: unknown) => {
        backend.log.error({ err: error }, 'agent frame handling failed');
        closeWith(1011, 'internal error');
      })
      .finally(() => {
        pending--;
        closeIfLate(); // a retryable refusal after the deadline (database_unavailable, rate_limited) ends the wait here
      });
  });

  const handle = async (data: RawData, isBinary: boolean) => {
    if (ws.readyState !== ws.OPEN) return;
    if (isBinary) return closeWith(CloseCode.malformedFrame, 'frames must be JSON text');
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return closeWith(CloseCode.malformedFrame, 'frame is not valid JSON');
    }
    const frame = agentFrame.safeParse(json);
    if (!frame.success) return closeWith(CloseCode.malformedFrame, `frame does not match the protocol: ${describeIssues(frame.error.issues)}`);

    const expected = nonce;
    try {
      const { device: attested, result } = await exchangeAttestation(backend, frame.data.token, expected, device);
      if (device === null) {
        device = attested;
        clearTimeout(timer);
        authenticated();
        backend.connections.add(attested.id, connection);
      }
      refusals = 0;
      nonce = newNonce();
      connection.send({ type: 'result', seq: result.seq, verdict: result.verdict, score: result.score, checks: result.checks, token: result.token, nonce });
      // The agent learnt an interval at enrollment; its group's policy may say otherwise now.
      if (result.reportIntervalS !== announcedInterval) {
        announcedInterval = result.reportIntervalS;
        connection.send({ type: 'config', report_interval_s: result.reportIntervalS, key_max_age_s: backend.settings.keyMaxAgeS });
      }
    } catch (error) {
      if (!(error instanceof AttestationError)) throw error;
      refuse(error);
    }
  };

  ws.on('close', () => {
    clearTimeout(timer);
    metrics.connections.dec();
    if (device !== null) backend.connections.remove(device.id, connection);
  });
  ws.on('error', (error) => backend.log.debug({ err: error }, 'agent socket error'));
}

import { MAX_FRAME_BYTES, SUBPROTOCOL } from '@postern/shared';
import WebSocket from 'ws';
import { reasonOf } from '../errors.js';
import { describeForeignAnswer, mediaType } from '../http/foreign-answer.js';
import { describeConnectionError } from '../net/connection-error.js';
import type { TrustStore } from '../net/trust-store.js';

export interface TransportHandlers {
  /** The upgrade succeeded; ws itself fails it unless the server selected `postern.v1`. */
  onOpen(): void;
  /** One text frame; binary frames are not part of the protocol and never reach here. */
  onText(text: string): void;
  /** A frame this transport dropped, for the log. */
  onDropped(reason: string): void;
  /** The connection is over; `error` says why when it never opened or broke. Called once. */
  onClose(code: number, reason: string, error: string | undefined): void;
}

export interface Transport {
  send(text: string): void;
  /** Close with a code; if the server does not answer the close quickly, drop the socket. */
  close(code: number, reason: string): void;
}

export interface WsTransportOptions {
  userAgent: string;
  /** The server's base URL as configured, for messages. */
  server: string;
  /** The CAs a wss:// server is verified against (Node's bundled roots when absent). */
  trust?: TrustStore | undefined;
  handshakeTimeoutMs?: number;
  /** How long a clean close may take before the socket is dropped. */
  closeTimeoutMs?: number;
  /** Ping period; a connection that answered nothing (pong or frame) for a whole period is dropped. */
  pingIntervalMs?: number;
}

/**
 * The WebSocket carrying the agent stream: bytes in and out, nothing about what
 * they mean. Incoming frames are bounded by the protocol's 64 KiB.
 */
export function openWsTransport(url: string, handlers: TransportHandlers, options: WsTransportOptions): Transport {
  const ws = new WebSocket(url, SUBPROTOCOL, {
    maxPayload: MAX_FRAME_BYTES,
    handshakeTimeout: options.handshakeTimeoutMs ?? 15_000,
    headers: { 'user-agent': options.userAgent },
    ...(options.trust ? { ca: [...options.trust.certificates] } : {}),
  });
  let lastError: string | undefined;
  /** Set when the failure was explained: ws's own follow-up error says less. */
  let explained = false;
  let opened = false;
  let closeTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  // Reports can be minutes apart; pings notice a dead link (sleeping laptop, dropped NAT entry) sooner.
  let heardFrom = true;

  // Anything but 101: say who answered (a web server, a proxy), then drop the attempt.
  ws.on('unexpected-response', (_req, res) => {
    const answer = { status: res.statusCode ?? 0, contentType: mediaType(res.headers['content-type']), location: res.headers.location };
    lastError = describeForeignAnswer(`GET ${url}`, options.server, answer).message;
    explained = true;
    res.resume();
    ws.terminate();
  });
  ws.on('open', () => {
    opened = true;
    heartbeat = setInterval(() => {
      if (!heardFrom) {
        lastError = 'the server stopped answering pings';
        ws.terminate();
        return;
      }
      heardFrom = false;
      ws.ping();
    }, options.pingIntervalMs ?? 60_000);
    heartbeat.unref();
    handlers.onOpen();
  });
  ws.on('pong', () => {
    heardFrom = true;
  });
  ws.on('message', (data, isBinary) => {
    heardFrom = true;
    if (isBinary) {
      handlers.onDropped('ignored a binary frame from the server');
      return;
    }
    handlers.onText(textOf(data));
  });
  ws.on('error', (err) => {
    if (explained) return;
    lastError = opened ? `connection lost (${reasonOf(err)})` : describeConnectionError(err, options.server, options.trust?.caFile).message;
  });
  ws.on('close', (code, reason) => {
    clearTimeout(closeTimer);
    clearInterval(heartbeat);
    handlers.onClose(code, reason.toString('utf8'), lastError);
  });

  return {
    send(text) {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    close(code, reason) {
      if (ws.readyState === WebSocket.CLOSED) return;
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
        return;
      }
      ws.close(code, reason);
      closeTimer = setTimeout(() => ws.terminate(), options.closeTimeoutMs ?? 2_000);
      closeTimer.unref();
    },
  };
}

function textOf(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

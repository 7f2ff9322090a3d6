/**
 * Baseline servers, each in its own process, measured exactly like postern-server:
 * - a bare Koa app answering 200 to every request (on node:http, like the backend), hammered
 *   as forward-auth is (same client, headers, connections);
 * - a bare `ws` server speaking just enough postern.v1 for the simulated agents (a challenge,
 *   an answer to each frame) and holding their connections, for memory per connection.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES, SUBPROTOCOL } from '@postern/shared';
import type { WorkerIO } from '../worker.js';

async function serveUntilStopped(server: ReturnType<typeof createServer>, io: WorkerIO): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  io.emit('listening', { url: `http://127.0.0.1:${port}` });
  await io.command('stop');
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function koaServer(_params: Record<string, never>, io: WorkerIO): Promise<{ served: number }> {
  const app = new Koa();
  let served = 0;
  app.use((ctx) => {
    served++;
    ctx.status = 200;
    ctx.body = { allow: true };
  });
  await serveUntilStopped(createServer(app.callback()), io);
  return { served };
}

export async function wsServer(_params: Record<string, never>, io: WorkerIO): Promise<{ connections: number }> {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, handleProtocols: (p) => (p.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
  let connections = 0;
  server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)));
  wss.on('connection', (ws) => {
    connections++;
    const nonce = () => randomBytes(32).toString('base64url');
    ws.send(JSON.stringify({ type: 'challenge', nonce: nonce(), server_time: Math.floor(Date.now() / 1000) }));
    ws.on('message', () => ws.send(JSON.stringify({ type: 'result', nonce: nonce(), token: 'baseline', verdict: 'compliant' })));
  });
  // The bench asks for a full collection before each memory reading (the process runs with --expose-gc).
  void (async () => {
    for (;;) {
      await io.command('gc');
      (globalThis as { gc?: () => void }).gc?.();
      io.emit('gc-done');
    }
  })();
  await serveUntilStopped(server, io);
  for (const client of wss.clients) client.terminate();
  return { connections };
}

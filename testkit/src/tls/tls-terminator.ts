import { connect, type AddressInfo, type Socket } from 'node:net';
import { createServer } from 'node:tls';

/** An HTTPS front for a plain-HTTP server, as a TLS-terminating proxy in production is. */
export interface TlsTerminator {
  /** `https://127.0.0.1:<port>`; the same port serves `wss://`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Terminates TLS on a loopback port and passes the bytes to `target` (http://host:port)
 * unchanged, so HTTP requests and WebSocket upgrades reach the real server as they
 * would behind nginx's stream proxy. Until `postern-server` serves TLS itself.
 */
export async function startTlsTerminator(options: { target: string; cert: string; key: string }): Promise<TlsTerminator> {
  const target = new URL(options.target);
  const sockets = new Set<Socket>();
  const server = createServer({ cert: options.cert, key: options.key }, (client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  // A refused handshake (the point of several tests) is the client's business, not an error here.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

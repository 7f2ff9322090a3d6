import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AGENT_STREAM_PATH } from '@postern/shared';
import { ensureAdminToken } from './admin/admin-token.js';
import type { ServerConfig } from './config.js';
import type { Backend } from './context.js';
import { pruneDpopJtis } from './decisions/dpop.js';
import { createApp } from './http/app.js';
import { loadServerKeys } from './keys/signing-keys.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createMetrics } from './metrics/metrics.js';
import { defaultPolicy } from './policy/default-policy.js';
import { openStore, type Store } from './store/open.js';
import { ConnectionRegistry } from './stream/connection-registry.js';
import { createAgentStream } from './stream/agent-stream.js';

export interface RunningServer {
  url: string;
  store: Store;
  backend: Backend;
  adminTokenPath: string;
  close(): Promise<void>;
}

export const SERVER_INFO_FILE = 'server.json';

/** Opens the store, migrates, and serves HTTP and the agent stream on one port. */
export async function startServer(config: ServerConfig, options: { log?: Logger; now?: () => number } = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger();
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const { path: adminTokenPath, created } = await ensureAdminToken(store.db, config.dataDir);
  if (created) log.info({ path: adminTokenPath }, 'wrote the initial admin token');

  const backend: Backend = {
    db: store.db,
    policy: defaultPolicy,
    keys: await loadServerKeys(store.db),
    issuer: '',
    metrics: createMetrics(),
    log,
    connections: new ConnectionRegistry(),
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    settings: {
      maxSkewS: 120,
      attestationTimeoutS: Number(process.env.POSTERN_ATTESTATION_TIMEOUT_S ?? 30),
      enrollFailuresPerMinute: Number(process.env.POSTERN_ENROLL_FAILURES_PER_MINUTE ?? 10),
    },
  };
  const app = createApp(backend, { trustProxy: config.trustProxy });
  const stream = createAgentStream(backend);
  const http: Server = createServer(app.callback());
  http.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0];
    if (path === AGENT_STREAM_PATH) return stream.handleUpgrade(request, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  backend.issuer = config.publicUrl ?? url;
  await writeFile(join(config.dataDir, SERVER_INFO_FILE), JSON.stringify({ url, pid: process.pid }) + '\n', { mode: 0o600 });

  const pruner = setInterval(() => {
    pruneDpopJtis(store.db, backend.now()).catch((error: unknown) => log.warn({ err: error }, 'pruning DPoP proof ids failed'));
  }, 60_000);
  pruner.unref();

  let closing: Promise<void> | null = null;
  return {
    url,
    store,
    backend,
    adminTokenPath,
    close: () =>
      (closing ??= (async () => {
        clearInterval(pruner);
        await stream.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
        await store.close();
        await rm(join(config.dataDir, SERVER_INFO_FILE), { force: true });
      })()),
  };
}

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AGENT_STREAM_PATH, CloseCode } from '@postern/shared';
import { ensureAdminToken } from './admin/admin-token.js';
import { createBatches } from './batches.js';
import { settingsFromEnv, type ServerConfig } from './config.js';
import type { Backend } from './context.js';
import { createClusterEvents, type ClusterEvent } from './events/cluster-events.js';
import { sweepEndedExceptions } from './exceptions/exceptions.js';
import { createApp } from './http/app.js';
import { PublicKeyCache } from './keys/public-key-cache.js';
import { loadServerKeys } from './keys/signing-keys.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createMetrics } from './metrics/metrics.js';
import { PolicyCache } from './policy/policy-cache.js';
import { ensureDefaultPolicy } from './policy/versions.js';
import { openStore, type Store } from './store/open.js';
import { pruneExpired } from './store/prune.js';
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
  const settings = config.settings ?? settingsFromEnv();
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const { path: adminTokenPath, created } = await ensureAdminToken(store.db, config.dataDir);
  if (created) log.info({ path: adminTokenPath }, 'wrote the initial admin token');
  if (await ensureDefaultPolicy(store.db)) log.info('stored the built-in default policy as default@1');
  const policies = await PolicyCache.load(store.db);
  const events = await createClusterEvents(store, log);

  const base: Omit<Backend, 'batches'> = {
    db: store.db,
    policies,
    events,
    keys: await loadServerKeys(store.db),
    publicKeys: new PublicKeyCache(),
    issuer: '',
    metrics: createMetrics(),
    log,
    connections: new ConnectionRegistry(),
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    settings: { maxSkewS: 120, attestationTimeoutS: settings.attestationTimeoutS, enrollFailuresPerMinute: settings.enrollFailuresPerMinute },
  };
  const backend: Backend = Object.assign(base, { batches: createBatches(base) });
  events.subscribe((event) => handleClusterEvent(backend, event));
  // After a lost LISTEN connection, notifications may have been missed: reload what they would have changed.
  events.onResync(() => policies.reload());
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
    pruneExpired(store.db, backend.now(), settings.attestationRetentionDays).catch((error: unknown) => log.warn({ err: error }, 'pruning expired rows failed'));
  }, 60_000);
  pruner.unref();
  const sweepEvery = settings.exceptionSweepS * 1000;
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepEndedExceptions(backend)
      .catch((error: unknown) => log.warn({ err: error }, 'recording ended exceptions failed'))
      .finally(() => (sweeping = false));
  }, sweepEvery);
  sweeper.unref();

  let closing: Promise<void> | null = null;
  return {
    url,
    store,
    backend,
    adminTokenPath,
    close: () =>
      (closing ??= (async () => {
        clearInterval(pruner);
        clearInterval(sweeper);
        await events.close();
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

/** What a replica does when it (or another replica) changed something every replica must act on. */
async function handleClusterEvent(backend: Backend, event: ClusterEvent): Promise<void> {
  switch (event.type) {
    case 'policy.activated':
      await backend.policies.reload();
      return;
    case 'collect.devices':
      for (const id of event.device_ids) for (const connection of backend.connections.forDevice(id)) connection.send({ type: 'collect' });
      return;
    case 'device.revoked':
      for (const connection of backend.connections.forDevice(event.device_id)) {
        connection.send({ type: 'error', code: 'revoked', message: 'this device has been revoked by an administrator' });
        connection.close(CloseCode.revoked, 'device revoked');
      }
      return;
    case 'collect.groups': {
      // Only this replica's own connections, looked up in pages: the group of a device may have changed since it connected.
      const connected = backend.connections.deviceIds();
      for (let i = 0; i < connected.length; i += 1000) {
        const rows = await backend.db.selectFrom('devices').select(['id', 'group_name']).where('id', 'in', connected.slice(i, i + 1000)).execute();
        for (const row of rows) {
          const judgedBy = backend.policies.hasOwn(row.group_name) ? row.group_name : 'default';
          if (event.groups.includes(judgedBy) || event.groups.includes(row.group_name)) {
            for (const connection of backend.connections.forDevice(row.id)) connection.send({ type: 'collect' });
          }
        }
      }
      return;
    }
  }
}

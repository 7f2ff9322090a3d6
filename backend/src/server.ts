import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AGENT_STREAM_PATH, isLoopbackHost } from '@postern/shared';
import { ensureAdminToken } from './admin/admin-token.js';
import { createBatches } from './batches.js';
import { lockDataDir, type DataDirLock } from './data-dir/lock.js';
import { prepareDataDir } from './data-dir/prepare.js';
import { readServerInfo, removeServerInfo, writeServerInfo } from './data-dir/server-info.js';
import { loadTlsFiles } from './http/tls-files.js';
import { settingsFromEnv, type ServerConfig } from './config.js';
import type { Backend } from './context.js';
import { decideMany, decidePage } from './decisions/decide.js';
import { StandingCache } from './decisions/standing-cache.js';
import { EventConsumer } from './events/consumer.js';
import { ensureFleetRollup, fleetRollupConsumer } from './fleet/fleet-rollup.js';
import { FleetFeed } from './fleet/live-feed.js';
import { createWakeups } from './events/wakeups.js';
import { createApp } from './api/app.js';
import { dashboardDir, loadDashboard } from './dashboard/static-files.js';
import { PublicKeyCache } from './keys/public-key-cache.js';
import { loadServerKeys } from './keys/signing-keys.js';
import { createLogger, type Logger } from './logging/logger.js';
import { clientAddress } from './http/client-address.js';
import { loadDpopNonces } from './decisions/dpop-nonce.js';
import { loadHttpNonces } from './nonces/http-nonce.js';
import { createLimits, HTTP_SERVER_TIMEOUTS } from './ratelimit/limits.js';
import { eventMetrics } from './metrics/event-metrics.js';
import { createMetrics } from './metrics/metrics.js';
import { PolicyCache } from './policy-lifecycle/policy-cache.js';
import { policyReload } from './policy-lifecycle/policy-reload.js';
import { ensureDefaultPolicy } from './policy-lifecycle/versions.js';
import { openStore, type Store } from './store/open.js';
import { pruneExpired } from './store/prune.js';
import { sweepDue, SWEEP_BATCH } from './standing/due-sweep.js';
import { ConnectionRegistry } from './stream/connection-registry.js';
import { createAgentStream } from './stream/agent-stream.js';
import { streamFanOut } from './stream/fan-out.js';
import { ssfSettingsFromEnv } from './ssf/settings.js';
import { SsfTransmitter } from './ssf/transmitter.js';

export interface RunningServer {
  url: string;
  store: Store;
  backend: Backend;
  adminTokenPath: string;
  /** This replica's consumers of the event stream. */
  consumers: readonly EventConsumer[];
  /** Runs the due-time sweep now, until nothing is due (tests; it also runs every POSTERN_SWEEP_S). */
  sweep(): Promise<number>;
  /** Reads the TLS certificate and key again (SIGHUP); open connections keep theirs. Throws, keeping the old ones, when the files are bad. */
  reloadTls(): Promise<{ fingerprint: string } | null>;
  close(): Promise<void>;
}

export { SERVER_INFO_FILE } from './data-dir/server-info.js';

interface StartOptions {
  log?: Logger;
  now?: () => number;
}

/**
 * Takes the data directory (one server per directory), opens the store, migrates, and serves
 * HTTP (or HTTPS) and the agent stream on one port.
 */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger();
  await prepareDataDir(config.dataDir);
  const lock = await lockDataDir(config.dataDir, async (pid) => {
    const info = await readServerInfo(config.dataDir);
    return info?.pid === pid ? (info.url ?? null) : null;
  });
  try {
    return await startLocked(config, log, lock, options);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startLocked(config: ServerConfig, log: Logger, lock: DataDirLock, options: StartOptions): Promise<RunningServer> {
  const settings = config.settings ?? settingsFromEnv();
  const tls = config.tls ? await loadTlsFiles(config.tls) : null;
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pglite: { sharedBuffersMB: settings.pgliteSharedBuffersMB } });
  const { path: adminTokenPath, created } = await ensureAdminToken(store.db, config.dataDir);
  if (created) log.info({ path: adminTokenPath }, 'wrote the initial admin token');
  if (await ensureDefaultPolicy(store.db)) log.info('stored the built-in default policy as default@1');
  const policies = await PolicyCache.load(store.db);
  const replicaId = randomUUID();
  const wakeups = await createWakeups(store, log, replicaId);

  const base: Omit<Backend, 'batches' | 'standings'> = {
    db: store.db,
    policies,
    replicaId,
    keys: await loadServerKeys(store.db),
    publicKeys: new PublicKeyCache(),
    issuer: '',
    metrics: createMetrics(),
    log,
    connections: new ConnectionRegistry(),
    fleetFeed: new FleetFeed(),
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    settings: { maxSkewS: 120, attestationTimeoutS: settings.attestationTimeoutS, pendingExpiryS: settings.pendingExpiryS, keyMaxAgeS: settings.keyMaxAgeS },
    // Limits of the unauthenticated endpoints (ratelimit/limits.ts).
    httpNonces: await loadHttpNonces(store.db),
    limits: createLimits(settings, config.databaseUrl),
    clientAddress: (request) => clientAddress(request, { trust: config.trustProxy, hops: settings.trustProxyHops }),
    forwardAuth: { forwarded: { trust: config.trustProxy, gateway: config.gateway ?? null }, dpopNonces: config.dpopNonce ? await loadDpopNonces(store.db, config.dpopNonce) : null },
  };
  const batches = createBatches(base);
  const consumerOptions = { replicaId, log, now: base.now };
  const standings = new StandingCache(
    store.db,
    {
      read: (deviceId) => batches.decisions.submit({ deviceId }),
      readMany: (deviceIds) => decideMany(store.db, deviceIds.map((deviceId) => ({ deviceId }))),
      readPage: (after, limit) => decidePage(store.db, after, limit),
      maxEntries: settings.decisionCacheEntries,
      maxAgeS: settings.decisionCacheMaxS,
      now: base.now,
    },
    consumerOptions,
  );
  const backend: Backend = Object.assign(base, { batches, standings });
  // Everything that reacts to change reads the event stream from its own position.
  const consumers: EventConsumer[] = [];
  consumers.push(
    new EventConsumer(store.db, policyReload(policies), consumerOptions),
    new EventConsumer(store.db, streamFanOut(backend), consumerOptions),
    new EventConsumer(store.db, eventMetrics(backend.metrics, store.db, () => consumers), consumerOptions),
    new EventConsumer(store.db, backend.fleetFeed.consumer(), consumerOptions),
    new EventConsumer(store.db, fleetRollupConsumer(base.now), consumerOptions),
  );
  // The overview's rollup starts from the tables when it has none, or fell behind the stream's retention.
  await ensureFleetRollup(store.db, base.now());
  for (const consumer of consumers) await consumer.start();
  await standings.start();
  consumers.push(standings.consumer);
  wakeups.subscribe(() => {
    for (const consumer of consumers) consumer.wake();
  });
  const ssf = new SsfTransmitter(backend, config.ssf ?? ssfSettingsFromEnv());
  const app = createApp(backend, { trustProxy: config.trustProxy, hsts: tls !== null, oidc: config.oidc, ssf, packagesDir: config.packagesDir, dashboard: await loadDashboard(dashboardDir()) });
  const stream = createAgentStream(backend);
  const http: Server = tls ? createTlsServer({ cert: tls.cert, key: tls.key, ...HTTP_SERVER_TIMEOUTS }, app.callback()) : createServer(HTTP_SERVER_TIMEOUTS, app.callback());
  http.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0];
    if (path === AGENT_STREAM_PATH) return stream.handleUpgrade(request, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  backend.issuer = config.publicUrl ?? url;
  // SETs carry the issuer, so the transmitter starts once it is known.
  consumers.push(await ssf.start({ retentionDays: settings.eventRetentionDays }));
  await writeServerInfo(config.dataDir, { url, pid: process.pid });
  if (tls) log.info({ cert: config.tls?.certFile, fingerprint: tls.fingerprint, valid_to: tls.validTo }, 'serving TLS');
  else if (!config.trustProxy && !isLoopbackHost(config.host)) {
    log.warn({ host: config.host }, 'listening on a non-loopback address without TLS: device keys travel in clear text; pass --tls-cert and --tls-key, or put a TLS proxy in front and set POSTERN_TRUST_PROXY=1');
  }

  const pruner = setInterval(() => {
    pruneExpired(store.db, backend.now(), { attestationDays: settings.attestationRetentionDays, eventDays: settings.eventRetentionDays }).catch((error: unknown) =>
      log.warn({ err: error }, 'pruning expired rows failed'),
    );
  }, 60_000);
  pruner.unref();
  // Time-driven changes: every replica sweeps; each due device is claimed by one of them.
  let sweeping: Promise<number> | null = null;
  const sweep = () =>
    (sweeping ??= (async () => {
      let total = 0;
      try {
        for (let n = SWEEP_BATCH; n === SWEEP_BATCH; total += n) n = await sweepDue(backend);
      } finally {
        sweeping = null;
      }
      return total;
    })());
  const sweeper = setInterval(() => {
    sweep().catch((error: unknown) => log.warn({ err: error }, 'the due-time sweep failed; it runs again in a moment'));
  }, settings.sweepS * 1000);
  sweeper.unref();

  let closing: Promise<void> | null = null;
  return {
    url,
    store,
    backend,
    adminTokenPath,
    consumers,
    sweep,
    reloadTls: async () => {
      if (!config.tls) return null;
      const fresh = await loadTlsFiles(config.tls);
      (http as ReturnType<typeof createTlsServer>).setSecureContext({ cert: fresh.cert, key: fresh.key });
      log.info({ cert: config.tls.certFile, fingerprint: fresh.fingerprint, valid_to: fresh.validTo }, 'reloaded the TLS certificate');
      return { fingerprint: fresh.fingerprint };
    },
    close: () =>
      (closing ??= (async () => {
        clearInterval(pruner);
        clearInterval(sweeper);
        await sweeping?.catch(() => undefined);
        await wakeups.close();
        await ssf.stop();
        for (const consumer of consumers) await consumer.stop();
        backend.fleetFeed.close();
        await stream.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
        await backend.limits.close();
        await store.close();
        // Only the lock's holder gets here, so this is our own file.
        await removeServerInfo(config.dataDir);
        await lock.release();
      })()),
  };
}

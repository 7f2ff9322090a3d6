import type { Command } from 'commander';
import { resolveServerConfig } from '../../config.js';
import { createLogger } from '../../logging/logger.js';
import { startServer } from '../../server.js';
import { dataOption } from '../common.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the backend: HTTP API, agent WebSocket stream and forward-auth on one port')
    .option('--port <n>', `port to listen on, 0 to 65535 (env POSTERN_PORT, default 8700; 0 picks a free port)`)
    .option('--host <h>', 'address to listen on (env POSTERN_HOST, default 127.0.0.1)')
    .option('--tls-cert <file>', 'serve HTTPS and WSS with this PEM certificate chain (env POSTERN_TLS_CERT; needs --tls-key; reread on SIGHUP)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert, unencrypted (env POSTERN_TLS_KEY)')
    .addOption(dataOption())
    .addHelpText(
      'after',
      `
One server per data directory: a second serve on it stops at once, naming the first one's pid.
SIGHUP rereads the TLS certificate and key (open streams keep theirs; bad files keep the old ones).
Exit status: 0 stopped by SIGINT or SIGTERM, 1 could not start (the message says why).`,
    )
    .action(async (flags: { port?: string; host?: string; data?: string; tlsCert?: string; tlsKey?: string }) => {
      const config = resolveServerConfig(flags);
      const log = createLogger();
      // A promise rejected with nothing waiting for it is a defect, but no request's state depends
      // on it: say so loudly and keep answering, rather than take every gateway's decisions down
      // with the process (Node's default). Uncaught exceptions still end the process.
      process.on('unhandledRejection', (reason: unknown) => {
        log.error({ err: reason }, 'a promise was rejected with nothing waiting for it (a defect: please report this line); the server keeps running');
      });
      const server = await startServer(config, { log });
      process.stdout.write(`Postern server ready at ${server.url} (database: ${server.store.kind} ${server.store.location}; admin token: ${server.adminTokenPath})\n`);
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      // A renewed certificate (certbot, cert-manager) is picked up without dropping a stream.
      process.on('SIGHUP', () => {
        server.reloadTls().then(
          (reloaded) => reloaded ?? log.info('SIGHUP: not serving TLS, nothing to reload'),
          (error: unknown) => log.error({ err: error }, `SIGHUP: kept the previous TLS certificate: ${(error as Error).message}`),
        );
      });
    });
}

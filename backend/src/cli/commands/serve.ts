import type { Command } from 'commander';
import { resolveServerConfig } from '../../config.js';
import { createLogger } from '../../logging/logger.js';
import { startServer } from '../../server.js';
import { dataOption } from '../common.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the backend: HTTP API, agent WebSocket stream and forward-auth on one port')
    .option('--port <n>', `port to listen on (env POSTERN_PORT, default 8700; 0 picks a free port)`)
    .option('--host <h>', 'address to listen on (env POSTERN_HOST, default 127.0.0.1)')
    .addOption(dataOption())
    .action(async (flags: { port?: string; host?: string; data?: string }) => {
      const config = resolveServerConfig(flags);
      const log = createLogger();
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
    });
}

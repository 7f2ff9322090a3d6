import { Command } from 'commander';
import { AdminCommandError } from './admin-client.js';
import { registerAudit } from './commands/audit.js';
import { registerEvents } from './commands/events.js';
import { registerDevice } from './commands/device.js';
import { registerException } from './commands/exception.js';
import { registerGatewayKey } from './commands/gateway-key.js';
import { registerPolicy } from './commands/policy.js';
import { registerServe } from './commands/serve.js';
import { registerToken } from './commands/token.js';
import { CommandFailed } from './common.js';

const program = new Command('postern-server')
  .description('Postern backend: enrolls devices, verifies their signed posture, and answers gateways.')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Environment:
  POSTERN_PORT, POSTERN_HOST, POSTERN_DATA_DIR  defaults for serve's --port, --host and --data
  DATABASE_URL          use PostgreSQL at this URL instead of the embedded database (PGlite)
  POSTERN_PUBLIC_URL    public base URL of this server (issuer of signed results)
  POSTERN_TRUST_PROXY   1 to trust X-Forwarded-* headers from a reverse proxy
  POSTERN_LOG_LEVEL     log level of the JSON log on stderr (default info)
  POSTERN_ATTESTATION_TIMEOUT_S       a new agent stream must attest within this (default 30)
  POSTERN_ENROLL_FAILURES_PER_MINUTE  refused enrollments allowed per address (default 10)
  POSTERN_EXCEPTION_SWEEP_S           how often ended exceptions are noticed (default 5)
  POSTERN_ATTESTATION_RETENTION_DAYS  how long report history is kept (default 30)
  POSTERN_SERVER_URL, POSTERN_ADMIN_TOKEN  for admin commands run elsewhere than the server's machine

Admin commands talk to the running server; on its machine they find its URL and the admin
token in the data directory (files server.json and admin-token). \`policy validate\` and
\`policy catalog\` need no server.`,
  );

// `postern-server … | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// Every command, in one place.
registerServe(program);
registerToken(program);
registerGatewayKey(program);
registerDevice(program);
registerPolicy(program);
registerException(program);
registerAudit(program);
registerEvents(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`postern-server: ${message}\n`);
  process.exit(error instanceof CommandFailed ? error.exitCode : error instanceof AdminCommandError ? 2 : 1);
});

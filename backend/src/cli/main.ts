import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { AdminCommandError } from './admin-client.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerEvents } from './commands/events.js';
import { registerDevice } from './commands/device.js';
import { registerException } from './commands/exception.js';
import { registerGatewayKey } from './commands/gateway-key.js';
import { registerGroup } from './commands/group.js';
import { registerPolicy } from './commands/policy.js';
import { registerServe } from './commands/serve.js';
import { registerToken } from './commands/token.js';
import { CommandFailed } from './common.js';
import { EXIT, EXIT_HELP } from './exit-codes.js';

// dist/cli/main.js and src/cli/main.ts both sit two levels under the package.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('postern-server')
  .description('Postern backend: enrolls devices, verifies their signed posture, and answers gateways.')
  .version(version, '-V, --version', 'print the version of postern-server')
  // Options of the program before the command, a command's own after it: `policy show --version 2` is the policy's.
  .enablePositionalOptions()
  .showHelpAfterError()
  // Commander's own usage errors end through the catch below, with exit status 2.
  .exitOverride()
  .addHelpText(
    'after',
    `
Environment:
  POSTERN_PORT, POSTERN_HOST, POSTERN_DATA_DIR  defaults for serve's --port, --host and --data
  POSTERN_TLS_CERT, POSTERN_TLS_KEY             defaults for serve's --tls-cert and --tls-key
  DATABASE_URL          use PostgreSQL at this URL instead of the embedded database (PGlite)
  POSTERN_PUBLIC_URL    public base URL of this server (issuer of signed results)
  POSTERN_TRUST_PROXY   1 to trust X-Forwarded-* headers from a reverse proxy
  POSTERN_GATEWAY       nginx, caddy, traefik or envoy: with POSTERN_TRUST_PROXY=1, whose forward-auth
                        headers name the original request a DPoP proof is for (docs/gateways/README.md)
  POSTERN_DPOP_NONCE    1 to require a server nonce in forward-auth DPoP proofs (RFC 9449 §8); replica
                        for nonces only the replica that issued them accepts, which keeps the replay
                        record in its memory (needs a load balancer that keeps a client on one replica)
  POSTERN_LOG_LEVEL     log level of the JSON log on stderr (default info)
  POSTERN_ATTESTATION_TIMEOUT_S       a new agent stream must attest within this (default 30)
  POSTERN_ENROLL_FAILURES_PER_MINUTE  refused enrollments allowed per address (default 10)
  POSTERN_SIGN_INS_PER_MINUTE         sign-in pages (/auth/link, /auth/oidc) per address and replica (default 60)
  POSTERN_SWEEP_S                     how often standings due to change by themselves are looked for (default 1)
  POSTERN_ATTESTATION_RETENTION_DAYS  how long report history is kept (default 30)
  POSTERN_EVENT_RETENTION_DAYS        how long events are kept once every consumer has passed them (default 30)
  POSTERN_PENDING_EXPIRY              a pending enrollment nobody decides on is revoked after this (default 7d)
  POSTERN_KEY_MAX_AGE                 agents rotate device keys older than this, e.g. 90d (default off)
  POSTERN_DECISION_CACHE_ENTRIES      device standings kept in memory for forward-auth (default 50000)
  POSTERN_DECISION_CACHE_MAX_S        a cached standing is read again, and outlives a database outage, this long (default 120)
  POSTERN_PGLITE_SHARED_BUFFERS_MB    the embedded database's page cache, resident for the life of the server (default 16)
  POSTERN_SSF_PUSH_ALLOW_HOSTS        hosts or CIDRs an SSF push may reach although not public (default none)
  POSTERN_SSF_MAX_ATTEMPTS, POSTERN_SSF_RETRY_MAX_S  SSF push attempts before a stream is failing (8), longest pause (300 s)
  POSTERN_PACKAGES_DIR                the agent packages served under /install/artefacts/ (default dist/packages)
  POSTERN_DASHBOARD_DIR               serve the dashboard from this build instead of the installed one
  POSTERN_SERVER_URL, POSTERN_ADMIN_TOKEN  for admin commands run elsewhere than the server's machine
  POSTERN_OIDC_ISSUER, POSTERN_OIDC_CLIENT_ID, POSTERN_OIDC_CLIENT_SECRET, POSTERN_OIDC_ROLES
                      OpenID Connect sign-in for the dashboard (roles: group=role,...)
  POSTERN_OIDC_ROLE_CLAIM, POSTERN_OIDC_SCOPES  the groups claim (default groups), the scopes asked for

Admin commands talk to the running server; on its machine they find its URL and the admin
token in the data directory (files server.json and admin-token). \`policy validate\` and
\`policy catalog\` need no server.

${EXIT_HELP}`,
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
registerGroup(program);
registerPolicy(program);
registerException(program);
registerAudit(program);
registerEvents(program);
registerAdmin(program);

// Every admin command states the rule too (serve says its own).
for (const group of program.commands) {
  for (const command of group.commands.length ? group.commands : [group]) {
    if (command.name() !== 'serve') command.addHelpText('after', '\nExit status: 0 done, 1 failed or refused by the server, 2 usage error, 3 cannot reach the server.');
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  // Commander has already printed its message (or the help, or the version).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? EXIT.done : EXIT.usage);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`postern-server: ${message}\n`);
  process.exit(error instanceof CommandFailed || error instanceof AdminCommandError ? error.exitCode : EXIT.failed);
});

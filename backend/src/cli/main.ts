import { Command, Option } from 'commander';
import { resolveDataDir, resolveServerConfig } from '../config.js';
import { createLogger } from '../logging/logger.js';
import { startServer } from '../server.js';
import { AdminCommandError, adminRequest, resolveAdminTarget } from './admin-client.js';
import { parseDuration } from './duration.js';

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
  POSTERN_SERVER_URL, POSTERN_ADMIN_TOKEN  for admin commands run elsewhere than the server's machine

Admin commands talk to the running server; on its machine they find its URL and the admin
token in the data directory (files server.json and admin-token).`,
  );

const dataOption = () => new Option('--data <dir>', 'server data directory (env POSTERN_DATA_DIR)');
const serverOption = () => new Option('--server <url>', 'URL of the running server (env POSTERN_SERVER_URL)');

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

const token = program.command('token').description('enrollment tokens');
token
  .command('create')
  .description('create an enrollment token (printed once; only its hash is stored)')
  .requiredOption('--group <group>', 'device group, e.g. employees, contractors, servers')
  .option('--uses <n>', 'how many devices may enroll with it', '1')
  .option('--expires <duration>', 'how long the token is valid: 10m, 24h, 30d', '24h')
  .option('--device-ttl <duration>', "how long an enrolled device's access lasts (e.g. a contract's end)")
  .option('--owner <owner>', 'owner of the devices enrolled with it')
  .option('--approval', 'devices enrolled with it wait for `device approve`', false)
  .option('--json', 'print one JSON object')
  .addOption(dataOption())
  .addOption(serverOption())
  .action(async (flags: { group: string; uses: string; expires: string; deviceTtl?: string; owner?: string; approval: boolean; json?: boolean; data?: string; server?: string }) => {
    const uses = Number(flags.uses);
    if (!Number.isInteger(uses) || uses < 1) throw new AdminCommandError(`--uses must be a whole number of at least 1, not "${flags.uses}"`);
    const target = await resolveAdminTarget(resolveDataDir(flags.data), flags);
    const created = await adminRequest<{ token: string; group: string; uses: number; expires_at: number }>(target, 'POST', '/v1/admin/enrollment-tokens', {
      group: flags.group,
      uses,
      expires_in_s: parseDuration(flags.expires),
      device_ttl_s: flags.deviceTtl ? parseDuration(flags.deviceTtl) : null,
      owner: flags.owner ?? null,
      approval: flags.approval,
    });
    if (flags.json) return print(created);
    process.stdout.write(`${created.token}\n`);
    process.stderr.write(`enrollment token for group ${created.group}, ${created.uses} use(s), valid until ${new Date(created.expires_at * 1000).toISOString()}\n`);
  });

const gatewayKey = program.command('gateway-key').description('API keys for gateways');
gatewayKey
  .command('create')
  .description('create a gateway API key for the compliance API (printed once)')
  .requiredOption('--name <name>', 'a name for the gateway')
  .option('--json', 'print one JSON object')
  .addOption(dataOption())
  .addOption(serverOption())
  .action(async (flags: { name: string; json?: boolean; data?: string; server?: string }) => {
    const target = await resolveAdminTarget(resolveDataDir(flags.data), flags);
    const created = await adminRequest<{ key: string; id: string; name: string }>(target, 'POST', '/v1/admin/gateway-keys', { name: flags.name });
    if (flags.json) return print(created);
    process.stdout.write(`${created.key}\n`);
  });

interface DeviceRow {
  device_id: string;
  hostname: string;
  platform: string;
  group: string;
  status: string;
  verdict: string;
  score: number;
  last_seen_at: number | null;
}

const device = program.command('device').description('enrolled devices');
device
  .command('list')
  .description('list enrolled devices with their current verdict')
  .option('--json', 'print one JSON object')
  .addOption(dataOption())
  .addOption(serverOption())
  .action(async (flags: { json?: boolean; data?: string; server?: string }) => {
    const target = await resolveAdminTarget(resolveDataDir(flags.data), flags);
    const result = await adminRequest<{ devices: DeviceRow[] }>(target, 'GET', '/v1/admin/devices');
    if (flags.json) return print(result);
    const rows = result.devices.map((d) => [d.device_id, d.hostname, d.platform, d.group, d.status, d.verdict, String(d.score), d.last_seen_at ? new Date(d.last_seen_at * 1000).toISOString() : '-']);
    printTable(['DEVICE', 'HOSTNAME', 'PLATFORM', 'GROUP', 'STATUS', 'VERDICT', 'SCORE', 'LAST SEEN'], rows);
  });

for (const [verb, description] of [
  ['show', 'show one device, its verdict and every check'],
  ['revoke', 'revoke a device: its streams close and its tokens stop working at once'],
  ['approve', 'approve a device that enrolled with an approval-required token'],
] as const) {
  device
    .command(`${verb} <id>`)
    .description(description)
    .option('--json', 'print one JSON object')
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: { json?: boolean; data?: string; server?: string }) => {
      const target = await resolveAdminTarget(resolveDataDir(flags.data), flags);
      const path = `/v1/admin/devices/${encodeURIComponent(id)}${verb === 'show' ? '' : `/${verb}`}`;
      const result = await adminRequest<Record<string, unknown>>(target, verb === 'show' ? 'GET' : 'POST', path);
      if (flags.json || verb === 'show') return print(result);
      process.stdout.write(`device ${id} is now ${String(result.status)}\n`);
    });
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`postern-server: ${message}\n`);
  process.exit(error instanceof AdminCommandError ? 2 : 1);
});

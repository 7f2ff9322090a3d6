import type { Command } from 'commander';
import { AdminCommandError, adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, jsonOption, print, serverOption, type AdminFlags } from '../common.js';
import { parseDuration } from '../../time/duration.js';

export function registerToken(program: Command): void {
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
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { group: string; uses: string; expires: string; deviceTtl?: string; owner?: string; approval: boolean }) => {
      const uses = Number(flags.uses);
      if (!Number.isInteger(uses) || uses < 1) throw new AdminCommandError(`--uses must be a whole number of at least 1, not "${flags.uses}"`);
      const body = {
        group: flags.group,
        uses,
        expires_in_s: parseDuration(flags.expires),
        device_ttl_s: flags.deviceTtl ? parseDuration(flags.deviceTtl) : null,
        owner: flags.owner ?? null,
        approval: flags.approval,
      };
      const created = await adminRequest<{ token: string; group: string; uses: number; expires_at: number }>(await adminTarget(flags), 'POST', '/v1/admin/enrollment-tokens', body);
      if (flags.json) return print(created);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`enrollment token for group ${created.group}, ${created.uses} use(s), valid until ${new Date(created.expires_at * 1000).toISOString()}\n`);
    });
}

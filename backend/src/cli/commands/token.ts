import type { Command } from 'commander';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { installLines } from '../../install/lines.js';
import { adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, durationWithin, inWords, jsonOption, print, serverOption, textUpTo, wholeNumber, type AdminFlags } from '../common.js';

export function registerToken(program: Command): void {
  const token = program.command('token').description('enrollment tokens');
  token
    .command('create')
    .description('create an enrollment token (printed once; only its hash is stored)')
    .requiredOption('--group <group>', 'device group, e.g. employees, contractors, servers')
    .option('--uses <n>', `how many devices may enroll with it: ${B.tokenUses.min} to ${B.tokenUses.max}`, wholeNumber(B.tokenUses.min, B.tokenUses.max), 1)
    .option('--expires <duration>', `how long the token is valid, e.g. 10m, 24h, 30d: at least ${inWords(B.tokenExpiresS.min)}, at most ${inWords(B.tokenExpiresS.max)} (default 24h)`, durationWithin(B.tokenExpiresS.min, B.tokenExpiresS.max))
    .option('--device-ttl <duration>', `how long an enrolled device's access lasts (e.g. a contract's end): at least ${inWords(B.deviceTtlS.min)}, at most ${inWords(B.deviceTtlS.max)} (default: no end)`, durationWithin(B.deviceTtlS.min, B.deviceTtlS.max))
    .option('--owner <owner>', `owner of the devices enrolled with it, up to ${B.ownerChars} characters`, textUpTo(B.ownerChars))
    .option('--approval', 'devices enrolled with it wait for `device approve`', false)
    .option('--install [url]', "also print the line that installs and enrolls the agent on each platform; url: the server's public URL (default: the one this command talks to)")
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { group: string; uses: number; expires?: number; deviceTtl?: number; owner?: string; approval: boolean; install?: string | boolean }) => {
      const body = {
        group: flags.group,
        uses: flags.uses,
        expires_in_s: flags.expires ?? 86400,
        device_ttl_s: flags.deviceTtl ?? null,
        owner: flags.owner ?? null,
        approval: flags.approval,
      };
      const target = await adminTarget(flags);
      // --- --install: the contractor's one-line install (the URL is checked before a token exists) ---
      const lines = flags.install === undefined ? undefined : installLines(typeof flags.install === 'string' ? flags.install : target.url);
      const created = await adminRequest<{ token: string; group: string; uses: number; expires_at: number }>(target, 'POST', '/v1/admin/enrollment-tokens', body);
      if (lines) {
        if (flags.json) return print({ ...created, install: lines });
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(
          `enrollment token for group ${created.group}, ${created.uses} use(s), valid until ${new Date(created.expires_at * 1000).toISOString()}\n` +
            'Send the token on its own; the installer asks for it (hidden input). As an administrator of the device, run:\n' +
            `  Linux:   ${lines.linux}\n  macOS:   ${lines.macos}\n  Windows (PowerShell): ${lines.windows}\n`,
        );
        return;
      }
      // ----------------------------------------------------------------------------------------
      if (flags.json) return print(created);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`enrollment token for group ${created.group}, ${created.uses} use(s), valid until ${new Date(created.expires_at * 1000).toISOString()}\n`);
    });
}

import type { Command } from 'commander';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { installLines } from '../../install/lines.js';
import { adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, durationWithin, inWords, isoTime, jsonOption, print, printTable, serverOption, textUpTo, wholeNumber, type AdminFlags } from '../common.js';

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
    .option('--change-ref <ref>', `the change (ticket) its devices are enrolled under, e.g. CHG-123, up to ${B.changeRefChars} characters`, textUpTo(B.changeRefChars))
    .option('--approval', 'devices enrolled with it wait for `device approve`', false)
    .option('--install [url]', "also print the line that installs and enrolls the agent on each platform; url: the server's public URL (default: the one this command talks to)")
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { group: string; uses: number; expires?: number; deviceTtl?: number; owner?: string; changeRef?: string; approval: boolean; install?: string | boolean }) => {
      const body = {
        group: flags.group,
        uses: flags.uses,
        expires_in_s: flags.expires ?? 86400,
        device_ttl_s: flags.deviceTtl ?? null,
        owner: flags.owner ?? null,
        change_ref: flags.changeRef ?? null,
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

  token
    .command('list')
    .description('list enrollment tokens that can still enroll (never their secret)')
    .option('--all', 'also tokens that can no longer enroll: revoked, expired or used up', false)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { all: boolean }) => {
      const result = await adminRequest<{ tokens: TokenRow[] }>(await adminTarget(flags), 'GET', `/v1/admin/enrollment-tokens${flags.all ? '?all=1' : ''}`);
      if (flags.json) return print(result);
      printTable(
        ['TOKEN', 'GROUP', 'OWNER', 'CHANGE', 'USES LEFT', 'EXPIRES', 'DEVICE TTL', 'APPROVAL', 'CREATED BY', 'STATE'],
        result.tokens.map((t) => [t.id, t.group, t.owner ?? '-', t.change_ref ?? '-', `${t.uses_left}/${t.max_uses}`, isoTime(t.expires_at), t.device_ttl_s === null ? '-' : inWords(t.device_ttl_s), t.approval ? 'yes' : 'no', t.created_by, t.revoked_by ? `revoked by ${t.revoked_by}` : t.state]),
      );
    });

  token
    .command('revoke <id>')
    .description('revoke an enrollment token at once (audited): it enrolls no more devices; devices it enrolled stay')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags) => {
      const result = await adminRequest<TokenRow>(await adminTarget(flags), 'POST', `/v1/admin/enrollment-tokens/${encodeURIComponent(id)}/revoke`);
      if (flags.json) return print(result);
      process.stdout.write(`enrollment token ${result.id} (group ${result.group}) is revoked\n`);
    });
}

interface TokenRow {
  id: string;
  group: string;
  owner: string | null;
  change_ref: string | null;
  uses_left: number;
  max_uses: number;
  expires_at: number;
  device_ttl_s: number | null;
  approval: boolean;
  created_by: string;
  revoked_by: string | null;
  state: string;
}

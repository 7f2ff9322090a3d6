import type { Command } from 'commander';
import type { ExceptionView } from '../../exceptions/exceptions.js';
import { parseTimeOrDuration } from '../../time/duration.js';
import { InvalidArgumentError } from 'commander';
import { adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, isoTime, jsonOption, print, printTable, serverOption, textUpTo, type AdminFlags } from '../common.js';

export function registerException(program: Command): void {
  const exception = program.command('exception').description('break-glass exceptions: waive one check for one device until a time (audited)');

  exception
    .command('grant <device>')
    .description('waive one check for one device until a time; it is judged again at once')
    .requiredOption('--check <id>', 'the check to waive, e.g. disk_encryption.system_volume (`policy catalog` lists them)')
    .requiredOption('--until <time>', 'when it ends, in the future: ISO 8601 (2026-05-01T18:00:00Z) or a duration from now (48h)', futureTime)
    .requiredOption('--reason <text>', 'why: recorded in the audit log and shown in the result (up to 2000 characters)', textUpTo(2000))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (device: string, flags: AdminFlags & { check: string; until: number; reason: string }) => {
      const result = await adminRequest<ExceptionView>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(device)}/exceptions`, { check: flags.check, until: flags.until, reason: flags.reason });
      if (flags.json) return print(result);
      process.stdout.write(`exception ${result.id}: ${result.check} waived for device ${result.device_id} until ${isoTime(result.until)}\n`);
    });

  exception
    .command('list')
    .description('exceptions in force (--all: also ended and revoked ones)')
    .option('--device <id>', 'only this device')
    .option('--all', 'include ended and revoked exceptions', false)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { device?: string; all: boolean }) => {
      const query = new URLSearchParams({ ...(flags.device ? { device: flags.device } : {}), ...(flags.all ? { all: '1' } : {}) }).toString();
      const result = await adminRequest<{ exceptions: ExceptionView[] }>(await adminTarget(flags), 'GET', `/v1/admin/exceptions${query ? `?${query}` : ''}`);
      if (flags.json) return print(result);
      printTable(
        ['EXCEPTION', 'DEVICE', 'CHECK', 'UNTIL', 'STATE', 'GRANTED BY', 'REASON'],
        result.exceptions.map((e) => [e.id, e.device_id, e.check, isoTime(e.until), e.active ? 'active' : e.revoked_at ? 'revoked' : 'ended', e.granted_by, e.reason]),
      );
    });

  exception
    .command('revoke <id>')
    .description('end an exception now')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags) => {
      const result = await adminRequest<ExceptionView>(await adminTarget(flags), 'POST', `/v1/admin/exceptions/${encodeURIComponent(id)}/revoke`);
      if (flags.json) return print(result);
      process.stdout.write(`exception ${result.id} (${result.check} for device ${result.device_id}) ended\n`);
    });
}

function futureTime(raw: string): number {
  try {
    return parseTimeOrDuration(raw, Math.floor(Date.now() / 1000));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

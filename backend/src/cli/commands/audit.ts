import type { Command } from 'commander';
import type { AuditView } from '../../audit/list.js';
import type { ChainReport } from '../../audit/verify.js';
import { adminRequest } from '../admin-client.js';
import { adminTarget, CommandFailed, dataOption, isoTime, jsonOption, parsePastTime, print, printTable, serverOption, wholeNumber, type AdminFlags } from '../common.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');

  audit
    .command('list')
    .description('audit entries, oldest first, filtered by device, actor, kind and time')
    .option('--device <id>', 'only entries about this device')
    .option('--actor <actor>', 'only entries by this actor (e.g. admin:initial, postern)')
    .option('--kind <kind>', 'only this kind (policy.applied), or a prefix ending in "." (device.)')
    .option('--since <time>', 'from this time: ISO 8601, or a duration back from now (24h)', (raw: string) => parsePastTime(raw))
    .option('--until <time>', 'up to this time: ISO 8601, or a duration back from now', (raw: string) => parsePastTime(raw))
    .option('--limit <n>', 'at most this many of the newest matching entries: 1 to 10000', wholeNumber(1, 10_000), 100)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { device?: string; actor?: string; kind?: string; since?: number; until?: number; limit: number }) => {
      const params = new URLSearchParams({ limit: String(flags.limit) });
      if (flags.device) params.set('device', flags.device);
      if (flags.actor) params.set('actor', flags.actor);
      if (flags.kind) params.set('kind', flags.kind);
      if (flags.since !== undefined) params.set('since', String(flags.since));
      if (flags.until !== undefined) params.set('until', String(flags.until));
      const result = await adminRequest<{ entries: AuditView[] }>(await adminTarget(flags), 'GET', `/v1/admin/audit?${params.toString()}`);
      if (flags.json) return print(result);
      printTable(
        ['ID', 'AT', 'ACTOR', 'KIND', 'DEVICE', 'DETAIL'],
        result.entries.map((e) => [String(e.id), isoTime(e.at), e.actor, e.kind, e.device_id ?? '-', JSON.stringify(e.detail)]),
      );
    });

  audit
    .command('verify')
    .description('recompute the hash chain and name the first entry that was altered or removed (exit 1 if any)')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags) => {
      const report = await adminRequest<ChainReport>(await adminTarget(flags), 'GET', '/v1/admin/audit/verify');
      if (flags.json) {
        print(report);
        if (!report.ok) process.exitCode = 1;
        return;
      }
      if (!report.ok) throw new CommandFailed(`the audit log was tampered with: ${report.message} (${report.entries_checked} entries before it verified)`);
      process.stdout.write(`audit log OK: ${report.entries} entries, chain head ${report.head ? `${report.head.id} ${report.head.hash}` : '(empty)'}\n`);
    });
}

import type { Command } from 'commander';
import type { StreamEvent } from '../../events/types.js';
import { adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, isoTime, jsonOption, print, printTable, serverOption, wholeNumber, type AdminFlags } from '../common.js';

export function registerEvents(program: Command): void {
  const events = program.command('events').description('the durable event stream (docs/events.md)');
  events
    .command('list')
    .description('events after a position, oldest first')
    .option('--after <seq>', 'only events after this sequence number (0 or more)', wholeNumber(0, Number.MAX_SAFE_INTEGER), 0)
    .option('--limit <n>', 'at most this many: 1 to 10000', wholeNumber(1, 10_000), 100)
    .option('--device <id>', 'only events about this device')
    .option('--type <type>', 'only events of this type (device.verdict_changed)')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { after: number; limit: number; device?: string; type?: string }) => {
      const params = new URLSearchParams({ after: String(flags.after), limit: String(flags.limit) });
      if (flags.device) params.set('device', flags.device);
      if (flags.type) params.set('type', flags.type);
      const result = await adminRequest<{ events: StreamEvent[]; next: number }>(await adminTarget(flags), 'GET', `/v1/admin/events?${params.toString()}`);
      if (flags.json) return print(result);
      printTable(
        ['SEQ', 'AT', 'TYPE', 'ACTOR', 'DEVICE', 'DATA'],
        result.events.map((e) => [String(e.seq), isoTime(e.at), e.type, e.actor, e.device_id ?? '-', JSON.stringify(e.data)]),
      );
    });
}

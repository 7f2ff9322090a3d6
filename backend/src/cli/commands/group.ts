import { InvalidArgumentError, type Command } from 'commander';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, durationWithin, inWords, jsonOption, print, printTable, serverOption, type AdminFlags } from '../common.js';

interface RulesRow {
  group: string;
  max_device_lifetime_s: number | null;
  require_owner: boolean;
  require_change_ref: boolean;
}

const lifetime = durationWithin(B.deviceTtlS.min, B.deviceTtlS.max);
const yesNo = (raw: string): boolean => {
  if (raw === 'yes' || raw === 'true') return true;
  if (raw === 'no' || raw === 'false') return false;
  throw new InvalidArgumentError('Say yes or no.');
};

export function registerGroup(program: Command): void {
  const group = program.command('group').description("what a group requires of its tokens and devices' end dates");
  group
    .command('list')
    .description('groups with rules (a group not listed requires nothing)')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags) => {
      const result = await adminRequest<{ groups: RulesRow[] }>(await adminTarget(flags), 'GET', '/v1/admin/groups');
      if (flags.json) return print(result);
      printTable(
        ['GROUP', 'MAX DEVICE LIFETIME', 'OWNER REQUIRED', 'CHANGE REF REQUIRED'],
        result.groups.map((g) => [g.group, g.max_device_lifetime_s === null ? '-' : inWords(g.max_device_lifetime_s), g.require_owner ? 'yes' : 'no', g.require_change_ref ? 'yes' : 'no']),
      );
    });

  group
    .command('set <group>')
    .description('change some of a group\'s rules (audited); the ones not given stay. Checked when tokens are created and devices extended')
    .option('--max-device-lifetime <duration>', `longest access one token or extension may give, e.g. 90d, or "none" (${inWords(B.deviceTtlS.min)} to ${inWords(B.deviceTtlS.max)})`, (raw) => (raw === 'none' ? null : lifetime(raw)))
    .option('--require-owner <yes|no>', "tokens must name an owner's email (--owner)", yesNo)
    .option('--require-change-ref <yes|no>', 'tokens must carry a change reference (--change-ref)', yesNo)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (name: string, flags: AdminFlags & { maxDeviceLifetime?: number | null; requireOwner?: boolean; requireChangeRef?: boolean }) => {
      const body = {
        ...(flags.maxDeviceLifetime !== undefined ? { max_device_lifetime_s: flags.maxDeviceLifetime } : {}),
        ...(flags.requireOwner !== undefined ? { require_owner: flags.requireOwner } : {}),
        ...(flags.requireChangeRef !== undefined ? { require_change_ref: flags.requireChangeRef } : {}),
      };
      const result = await adminRequest<RulesRow>(await adminTarget(flags), 'POST', `/v1/admin/groups/${encodeURIComponent(name)}/settings`, body);
      if (flags.json) return print(result);
      process.stdout.write(
        `group ${result.group}: max device lifetime ${result.max_device_lifetime_s === null ? 'none' : inWords(result.max_device_lifetime_s)}, owner ${result.require_owner ? 'required' : 'not required'}, change reference ${result.require_change_ref ? 'required' : 'not required'}\n`,
      );
    });
}

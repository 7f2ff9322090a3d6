import { InvalidArgumentError, type Command } from 'commander';
import { verdict } from '@postern/shared';
import { parseTimeOrDuration } from '../../time/duration.js';
import { adminRequest, type AdminTarget } from '../admin-client.js';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { adminTarget, dataOption, isoTime, jsonOption, print, printTable, serverOption, textUpTo, type AdminFlags } from '../common.js';

interface DeviceRow {
  device_id: string;
  hostname: string;
  platform: string;
  group: string;
  status: string;
  owner: string | null;
  change_ref: string | null;
  verdict: string;
  score: number;
  last_seen_at: number | null;
}

/** `--verdict compliant,grace`: checked here so a typo fails before any request. */
function verdictList(raw: string): string {
  const items = raw.split(',').map((v) => v.trim()).filter(Boolean);
  const unknown = items.filter((v) => !verdict.safeParse(v).success);
  if (items.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`${unknown.join(', ') || 'nothing'} is not a verdict: give ${verdict.options.join(', ')}, comma-separated`);
  return items.join(',');
}

const SEARCH_PAGE = 500;

/** Every device the fleet search finds, page after page (keyset cursor), as the dashboard's Devices page searches. */
async function searchFleet(target: AdminTarget, filters: { q: string | undefined; verdict: string | undefined; group: string | undefined }): Promise<DeviceRow[]> {
  const devices: DeviceRow[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(SEARCH_PAGE) });
    for (const [name, value] of Object.entries({ ...filters, cursor })) if (value) query.set(name, value);
    const page: { devices: DeviceRow[]; next: string | null } = await adminRequest(target, 'GET', `/v1/admin/fleet/devices?${query.toString()}`);
    devices.push(...page.devices);
    cursor = page.next;
  } while (cursor);
  return devices;
}

export function registerDevice(program: Command): void {
  const device = program.command('device').description('enrolled devices');
  device
    .command('list')
    .description('list enrolled devices with their current verdict; --search, --verdict and --group narrow it with the dashboard\'s fleet search (sorted by hostname)')
    .option('--search <text>', 'prefix of a hostname, an owner, a change reference or a device id (case-insensitive)', textUpTo(200))
    .option('--verdict <verdicts>', `comma-separated: ${verdict.options.join(', ')}`, verdictList)
    .option('--group <group>', 'only devices of this group', textUpTo(100))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { search?: string; verdict?: string; group?: string }) => {
      const target = await adminTarget(flags);
      const narrowed = flags.search !== undefined || flags.verdict !== undefined || flags.group !== undefined;
      const result = narrowed ? { devices: await searchFleet(target, { q: flags.search, verdict: flags.verdict, group: flags.group }) } : await adminRequest<{ devices: DeviceRow[] }>(target, 'GET', '/v1/admin/devices');
      if (flags.json) return print(result);
      const rows = result.devices.map((d) => [d.device_id, d.hostname, d.platform, d.group, d.owner ?? '-', d.change_ref ?? '-', d.status, d.verdict, String(d.score), isoTime(d.last_seen_at)]);
      printTable(['DEVICE', 'HOSTNAME', 'PLATFORM', 'GROUP', 'OWNER', 'CHANGE', 'STATUS', 'VERDICT', 'SCORE', 'LAST SEEN'], rows);
    });

  for (const [verb, description] of [
    ['show', 'show one device, its verdict and every check'],
    ['revoke', 'revoke a device: its streams close and its tokens stop working at once'],
    ['approve', 'approve a device that enrolled with an approval-required token'],
  ] as const) {
    const command = device
      .command(`${verb} <id>`)
      .description(description)
      .addOption(jsonOption())
      .addOption(dataOption())
      .addOption(serverOption());
    if (verb !== 'show') command.option('--reason <text>', `why, for the audit log (up to ${B.denyReasonChars} characters)`, textUpTo(B.denyReasonChars));
    command.action(async (id: string, flags: AdminFlags & { reason?: string }) => {
        const path = `/v1/admin/devices/${encodeURIComponent(id)}${verb === 'show' ? '' : `/${verb}`}`;
        const result = await adminRequest<Record<string, unknown>>(await adminTarget(flags), verb === 'show' ? 'GET' : 'POST', path, flags.reason ? { reason: flags.reason } : undefined);
        if (flags.json || verb === 'show') return print(result);
        process.stdout.write(`device ${id} is now ${String(result.status)}\n`);
      });
  }

  device
    .command('deny <id>')
    .description('deny a device awaiting approval: it is refused from now on, and its streams close')
    .requiredOption('--reason <text>', `why, for the audit log (up to ${B.denyReasonChars} characters)`, textUpTo(B.denyReasonChars))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags & { reason: string }) => {
      const result = await adminRequest<Record<string, unknown>>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/deny`, { reason: flags.reason });
      if (flags.json) return print(result);
      process.stdout.write(`device ${id} is now ${String(result.status)} (denied)\n`);
    });

  device
    .command('set-group <id> <group>')
    .description("move a device to another group (audited); it is judged by that group's policy at once")
    .option('--create', 'make the group if no enrollment token, policy or device names it yet (without it, an unknown group is refused: a typo)', false)
    .option('--reason <text>', `why, for the audit log (up to ${B.denyReasonChars} characters)`, textUpTo(B.denyReasonChars))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, group: string, flags: AdminFlags & { create: boolean; reason?: string }) => {
      const result = await adminRequest<{ group: string; verdict: string; score: number; policy: string | null }>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/group`, { group, create: flags.create, ...(flags.reason ? { reason: flags.reason } : {}) });
      if (flags.json) return print(result);
      process.stdout.write(`device ${id} is now in group ${result.group}: ${result.verdict}, score ${result.score} (${result.policy ?? 'no report yet'})\n`);
    });

  device
    .command('extend <id>')
    .description("set when a device's access ends (audited; judged again at once). A revoked or expired device stays so: enroll it again")
    .requiredOption('--until <time>', 'the new end: ISO 8601 such as 2026-06-30T18:00:00Z, or a duration from now such as 30d', futureTime)
    .option('--reason <text>', `why, for the audit log (up to ${B.denyReasonChars} characters)`, textUpTo(B.denyReasonChars))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags & { until: number; reason?: string }) => {
      const result = await adminRequest<{ expires_at: number; verdict: string }>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/extend`, { until: flags.until, ...(flags.reason ? { reason: flags.reason } : {}) });
      if (flags.json) return print(result);
      process.stdout.write(`device ${id}'s access now ends ${isoTime(result.expires_at)} (${result.verdict})\n`);
    });

  for (const [verb, field, what, path] of [
    ['set-owner <id> <email>', 'owner', "the email of the person responsible for the device", 'owner'],
    ['set-change-ref <id> <ref>', 'change_ref', 'the change (ticket) the device runs under, e.g. CHG-123', 'change-ref'],
  ] as const) {
    device
      .command(verb)
      .description(`set ${what} (audited)`)
      .addOption(jsonOption())
      .addOption(dataOption())
      .addOption(serverOption())
      .action(async (id: string, value: string, flags: AdminFlags) => {
        const result = await adminRequest<Record<string, unknown>>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/${path}`, { [field]: value });
        if (flags.json) return print(result);
        process.stdout.write(`device ${id}'s ${field === 'owner' ? 'owner' : 'change reference'} is now ${String(result[field])}\n`);
      });
  }

  device
    .command('relink <id>')
    .description('confirm that a device enrolled from a reinstalled machine replaces the device that machine had: the new one becomes active, the old one is revoked (reason relinked)')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags) => {
      const result = await adminRequest<{ device: { device_id: string; status: string }; replaced: { device_id: string; status: string } }>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/relink`);
      if (flags.json) return print(result);
      process.stdout.write(`device ${result.device.device_id} is now ${result.device.status}; it replaces device ${result.replaced.device_id}, now ${result.replaced.status}\n`);
    });
}

/** An option parser for a time in the future: ISO 8601 or a duration from now. */
function futureTime(raw: string): number {
  try {
    return parseTimeOrDuration(raw, Math.floor(Date.now() / 1000));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

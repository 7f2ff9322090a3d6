import type { Command } from 'commander';
import { adminRequest } from '../admin-client.js';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { adminTarget, dataOption, isoTime, jsonOption, print, printTable, serverOption, textUpTo, type AdminFlags } from '../common.js';

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

export function registerDevice(program: Command): void {
  const device = program.command('device').description('enrolled devices');
  device
    .command('list')
    .description('list enrolled devices with their current verdict')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags) => {
      const result = await adminRequest<{ devices: DeviceRow[] }>(await adminTarget(flags), 'GET', '/v1/admin/devices');
      if (flags.json) return print(result);
      const rows = result.devices.map((d) => [d.device_id, d.hostname, d.platform, d.group, d.status, d.verdict, String(d.score), isoTime(d.last_seen_at)]);
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
      .addOption(jsonOption())
      .addOption(dataOption())
      .addOption(serverOption())
      .action(async (id: string, flags: AdminFlags) => {
        const path = `/v1/admin/devices/${encodeURIComponent(id)}${verb === 'show' ? '' : `/${verb}`}`;
        const result = await adminRequest<Record<string, unknown>>(await adminTarget(flags), verb === 'show' ? 'GET' : 'POST', path);
        if (flags.json || verb === 'show') return print(result);
        process.stdout.write(`device ${id} is now ${String(result.status)}\n`);
      });
  }

  device
    .command('deny <id>')
    .description('deny a device awaiting approval: it is refused from now on, and its streams close')
    .option('--reason <text>', `why, for the audit log (up to ${B.denyReasonChars} characters)`, textUpTo(B.denyReasonChars))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags & { reason?: string }) => {
      const result = await adminRequest<Record<string, unknown>>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/deny`, flags.reason ? { reason: flags.reason } : {});
      if (flags.json) return print(result);
      process.stdout.write(`device ${id} is now ${String(result.status)} (denied)\n`);
    });

  device
    .command('set-group <id> <group>')
    .description("move a device to another group (audited); it is judged by that group's policy at once")
    .option('--create', 'make the group if no enrollment token, policy or device names it yet (without it, an unknown group is refused: a typo)', false)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, group: string, flags: AdminFlags & { create: boolean }) => {
      const result = await adminRequest<{ group: string; verdict: string; score: number; policy: string | null }>(await adminTarget(flags), 'POST', `/v1/admin/devices/${encodeURIComponent(id)}/group`, { group, create: flags.create });
      if (flags.json) return print(result);
      process.stdout.write(`device ${id} is now in group ${result.group}: ${result.verdict}, score ${result.score} (${result.policy ?? 'no report yet'})\n`);
    });
}

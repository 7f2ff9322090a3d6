import type { Command } from 'commander';
import { adminRequest } from '../admin-client.js';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { adminTarget, dataOption, jsonOption, print, serverOption, textUpTo, type AdminFlags } from '../common.js';

export function registerGatewayKey(program: Command): void {
  const gatewayKey = program.command('gateway-key').description('API keys for gateways');
  gatewayKey
    .command('create')
    .description('create a gateway API key for the compliance API (printed once)')
    .requiredOption('--name <name>', `a name for the gateway, up to ${B.gatewayNameChars} characters`, textUpTo(B.gatewayNameChars))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { name: string }) => {
      const created = await adminRequest<{ key: string; id: string; name: string }>(await adminTarget(flags), 'POST', '/v1/admin/gateway-keys', { name: flags.name });
      if (flags.json) return print(created);
      process.stdout.write(`${created.key}\n`);
    });
}

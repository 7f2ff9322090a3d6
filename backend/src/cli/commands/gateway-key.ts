import { InvalidArgumentError, type Command } from 'commander';
import { adminRequest } from '../admin-client.js';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { gatewayScope, type GatewayScope } from '../../gateways/gateway-keys.js';
import { adminTarget, dataOption, jsonOption, print, serverOption, textUpTo, type AdminFlags } from '../common.js';

const SCOPES = gatewayScope.options.join(', ');

/** `--scope ssf --scope authz` or `--scope ssf,authz`: each given value adds to the list. */
function collectScopes(raw: string, previous: GatewayScope[] | undefined): GatewayScope[] {
  const out = [...(previous ?? [])];
  for (const part of raw.split(',').map((s) => s.trim())) {
    const parsed = gatewayScope.safeParse(part);
    if (!parsed.success) throw new InvalidArgumentError(`"${part}" is not a scope: use ${SCOPES}.`);
    if (!out.includes(parsed.data)) out.push(parsed.data);
  }
  return out;
}

export function registerGatewayKey(program: Command): void {
  const gatewayKey = program.command('gateway-key').description('API keys for gateways and Shared Signals receivers');
  gatewayKey
    .command('create')
    .description('create a gateway API key (printed once)')
    .requiredOption('--name <name>', `a name for the gateway, up to ${B.gatewayNameChars} characters`, textUpTo(B.gatewayNameChars))
    .option('--scope <scope>', `what the key may do, repeatable or comma-separated: authz (forward-auth, compliance API; the default), ssf (Shared Signals streams)`, collectScopes)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { name: string; scope?: GatewayScope[] }) => {
      const body = { name: flags.name, ...(flags.scope ? { scopes: flags.scope } : {}) };
      const created = await adminRequest<{ key: string; id: string; name: string; scopes: string[] }>(await adminTarget(flags), 'POST', '/v1/admin/gateway-keys', body);
      if (flags.json) return print(created);
      process.stdout.write(`${created.key}\n`);
    });
}

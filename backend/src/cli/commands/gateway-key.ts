import { InvalidArgumentError, type Command } from 'commander';
import { adminRequest } from '../admin-client.js';
import { ADMIN_BOUNDS as B } from '../../admin/routes.js';
import { gatewayScope, type GatewayScope } from '../../gateways/gateway-keys.js';
import { adminTarget, dataOption, isoTime, jsonOption, print, printTable, serverOption, textUpTo, type AdminFlags } from '../common.js';

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

  gatewayKey
    .command('list')
    .description('gateway API keys, never their secret')
    .option('--all', 'revoked keys too')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { all?: boolean }) => {
      const { keys } = await adminRequest<{ keys: Array<{ id: string; name: string; scopes: string[]; created_at: number; revoked_at: number | null }> }>(await adminTarget(flags), 'GET', `/v1/admin/gateway-keys${flags.all ? '?all=1' : ''}`);
      if (flags.json) return print({ keys });
      printTable(['id', 'name', 'scopes', 'created', 'revoked'], keys.map((k) => [k.id, k.name, k.scopes.join(','), isoTime(k.created_at), k.revoked_at === null ? '-' : isoTime(k.revoked_at)]));
    });

  gatewayKey
    .command('revoke <id>')
    .description('revoke a gateway API key: every replica refuses it as soon as it reads the event (audited)')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (id: string, flags: AdminFlags) => {
      const revoked = await adminRequest<{ id: string; name: string; revoked_at: number }>(await adminTarget(flags), 'POST', `/v1/admin/gateway-keys/${encodeURIComponent(id)}/revoke`);
      if (flags.json) return print(revoked);
      process.stdout.write(`gateway key ${revoked.name} (${revoked.id}) revoked at ${isoTime(revoked.revoked_at)}\n`);
    });
}

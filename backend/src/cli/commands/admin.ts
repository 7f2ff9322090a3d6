import { Argument, type Command } from 'commander';
import { ROLES } from '../../accounts/roles.js';
import { adminRequest } from '../admin-client.js';
import { adminTarget, dataOption, isoTime, jsonOption, print, printTable, serverOption, type AdminFlags } from '../common.js';

interface Account {
  name: string;
  email: string | null;
  role: string;
  disabled: boolean;
}

const withTarget = (command: Command): Command => command.addOption(jsonOption()).addOption(dataOption()).addOption(serverOption());
const roleArgument = () => new Argument('<role>', 'viewer (reads), operator (also device actions and exceptions), admin (also policy, tokens, keys, accounts)').choices(ROLES);
const accountPath = (name: string) => `/v1/admin/admins/${encodeURIComponent(name)}`;
const describe = (a: Account) => `${a.name}${a.email ? ` <${a.email}>` : ''}: ${a.role}${a.disabled ? ', disabled' : ''}`;

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('admin accounts, their roles and tokens, and signing a browser in');

  withTarget(
    admin
      .command('sign-in-link')
      .description('print a one-time link (10 minutes) that signs a browser in to the dashboard')
      .option('--name <name>', 'the admin to sign in as (default: the one whose token this command uses)')
      .option('--next <path>', 'where the browser goes once signed in: a path on this server (default /)'),
  ).action(async (flags: AdminFlags & { name?: string; next?: string }) => {
    const created = await adminRequest<{ url: string; name: string; expires_at: number }>(await adminTarget(flags), 'POST', '/v1/admin/sign-in-links', {
      ...(flags.name ? { name: flags.name } : {}),
      ...(flags.next ? { next: flags.next } : {}),
    });
    if (flags.json) return print(created);
    process.stdout.write(`${created.url}\n`);
  });

  withTarget(admin.command('list').description('list admin accounts')).action(async (flags: AdminFlags) => {
    const result = await adminRequest<{ admins: Array<Account & { created_at: number; oidc: boolean }> }>(await adminTarget(flags), 'GET', '/v1/admin/admins');
    if (flags.json) return print(result);
    printTable(
      ['NAME', 'EMAIL', 'ROLE', 'STATE', 'SIGN-IN', 'CREATED'],
      result.admins.map((a) => [a.name, a.email ?? '-', a.role, a.disabled ? 'disabled' : 'enabled', a.oidc ? 'oidc' : 'link', isoTime(a.created_at)]),
    );
  });

  withTarget(
    admin
      .command('create <name>')
      .description('create an admin account')
      .addArgument(roleArgument())
      .option('--email <address>', 'e-mail address, shown in the dashboard'),
  ).action(async (name: string, role: string, flags: AdminFlags & { email?: string }) => {
    const created = await adminRequest<Account>(await adminTarget(flags), 'POST', '/v1/admin/admins', { name, role, ...(flags.email ? { email: flags.email } : {}) });
    if (flags.json) return print(created);
    process.stdout.write(`created ${describe(created)}\n`);
  });

  withTarget(admin.command('set-role <name>').description("change an admin's role").addArgument(roleArgument())).action(async (name: string, role: string, flags: AdminFlags) => {
    const changed = await adminRequest<Account>(await adminTarget(flags), 'POST', `${accountPath(name)}/role`, { role });
    if (flags.json) return print(changed);
    process.stdout.write(`${describe(changed)}\n`);
  });

  for (const [verb, description] of [
    ['disable', 'disable an admin: its sessions end and its tokens stop working at once'],
    ['enable', 'enable a disabled admin again'],
  ] as const) {
    withTarget(admin.command(`${verb} <name>`).description(description)).action(async (name: string, flags: AdminFlags) => {
      const changed = await adminRequest<Account>(await adminTarget(flags), 'POST', `${accountPath(name)}/${verb}`);
      if (flags.json) return print(changed);
      process.stdout.write(`${describe(changed)}\n`);
    });
  }

  const token = admin.command('token').description("admins' API tokens");
  withTarget(
    token
      .command('create')
      .description('create an API token acting as one admin (printed once: only its hash is kept)')
      .requiredOption('--admin <name>', 'the admin account the token acts as')
      .option('--name <label>', 'what the token is for, e.g. the machine or script using it', 'cli'),
  ).action(async (flags: AdminFlags & { admin: string; name: string }) => {
    const created = await adminRequest<{ token: string }>(await adminTarget(flags), 'POST', `${accountPath(flags.admin)}/tokens`, { name: flags.name });
    if (flags.json) return print(created);
    process.stdout.write(`${created.token}\n`);
  });
}

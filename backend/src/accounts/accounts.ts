import type { Kysely } from 'kysely';
import { z } from 'zod';
import { appendAudits } from '../audit/append.js';
import type { AdminRole, Database } from '../store/schema.js';

/** Letters, digits, `.`, `_`, `-` and `@`: a name that reads well in `admin:<name>` and on a command line. */
export const adminName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'an admin name is letters, digits, ".", "_", "-" and "@", starting with a letter or digit');

export interface Admin {
  id: string;
  name: string;
  email: string | null;
  role: AdminRole;
  disabled: boolean;
}

export interface AdminView {
  name: string;
  email: string | null;
  role: AdminRole;
  disabled: boolean;
  created_at: number;
  /** Signs in through OpenID Connect. */
  oidc: boolean;
}

export class AccountRefused extends Error {
  constructor(
    readonly code: 'unknown_admin' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

export const ADMIN_COLUMNS = ['id', 'name', 'email', 'role', 'disabled'] as const;

export async function findAdmin(db: Kysely<Database>, by: { id: string } | { name: string }): Promise<Admin | null> {
  const query = db.selectFrom('admins').select(ADMIN_COLUMNS);
  const row = await ('id' in by ? query.where('id', '=', by.id) : query.where('name', '=', by.name)).executeTakeFirst();
  return row ?? null;
}

export async function listAdmins(db: Kysely<Database>): Promise<AdminView[]> {
  const rows = await db.selectFrom('admins').select(['name', 'email', 'role', 'disabled', 'created_at', 'oidc_subject']).orderBy('created_at').orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, email: r.email, role: r.role, disabled: r.disabled, created_at: Math.floor(r.created_at.getTime() / 1000), oidc: r.oidc_subject !== null }));
}

export async function createAdmin(db: Kysely<Database>, input: { name: string; email: string | null; role: AdminRole; actor: string }): Promise<Admin> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('admins')
      .values({ name: input.name, email: input.email, role: input.role })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning(ADMIN_COLUMNS)
      .executeTakeFirst();
    if (!row) throw new AccountRefused('conflict', `an admin named ${input.name} exists already: pick another name, or change its role with \`postern-server admin set-role\``);
    await appendAudits(trx, [{ actor: input.actor, kind: 'admin.created', detail: { name: row.name, email: row.email, role: row.role } }]);
    return row;
  });
}

/**
 * Locks the enabled accounts with the role admin and returns their ids. Every change that could
 * take that role from the last of them takes this lock first (and before any other row lock), so
 * two such changes at once are judged one after the other, never each against the other's before.
 */
export async function lockEnabledAdmins(trx: Kysely<Database>): Promise<string[]> {
  const rows = await trx.selectFrom('admins').select('id').where('role', '=', 'admin').where('disabled', '=', false).orderBy('id').forUpdate().execute();
  return rows.map((r) => r.id);
}

/** Whether this account is the one enabled admin left, by the ids `lockEnabledAdmins` returned. */
export const isLastAdmin = (admins: readonly string[], id: string): boolean => admins.length === 1 && admins[0] === id;

export const LAST_ADMIN_REASON = 'the last enabled admin keeps the role admin, or nobody could manage accounts and policy';

/** Changes one admin's role or disabled flag; a disabled admin's sessions and sign-in links end at once and its tokens stop working. */
export async function updateAdmin(db: Kysely<Database>, input: { name: string; change: { role: AdminRole } | { disabled: boolean }; actor: string }): Promise<Admin> {
  return db.transaction().execute(async (trx) => {
    const admins = await lockEnabledAdmins(trx);
    const before = await trx.selectFrom('admins').select(ADMIN_COLUMNS).where('name', '=', input.name).forUpdate().executeTakeFirst();
    if (!before) throw new AccountRefused('unknown_admin', `no admin named ${input.name}: \`postern-server admin list\` shows them`);
    const demotes = 'role' in input.change ? input.change.role !== 'admin' : input.change.disabled;
    if (demotes && isLastAdmin(admins, before.id)) {
      throw new AccountRefused('conflict', `${input.name} is the last enabled admin with the role admin: give another account that role first, or nobody could manage accounts and policy`);
    }
    const after = await trx.updateTable('admins').set(input.change).where('id', '=', before.id).returning(ADMIN_COLUMNS).executeTakeFirstOrThrow();
    if ('disabled' in input.change && input.change.disabled) {
      // Unspent sign-in links too: enabled again within their ten minutes, they would still sign in.
      await trx.deleteFrom('admin_sessions').where('admin_id', '=', before.id).execute();
      await trx.deleteFrom('admin_sign_in_links').where('admin_id', '=', before.id).execute();
    }
    const detail = 'role' in input.change ? { name: after.name, from: before.role, to: after.role } : { name: after.name, disabled: after.disabled };
    await appendAudits(trx, [{ actor: input.actor, kind: 'role' in input.change ? 'admin.role_changed' : after.disabled ? 'admin.disabled' : 'admin.enabled', detail }]);
    return after;
  });
}

import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Admin } from '../accounts/accounts.js';
import { appendAudits } from '../audit/append.js';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'pat';
export const ADMIN_TOKEN_FILE = 'admin-token';
/** The first admin account, made with the server's first start (or from the shared token of older servers, migration 0007). */
export const FIRST_ADMIN = 'initial';

/**
 * On a database without admin tokens, creates the first admin account (role admin) and its
 * token, written to `<dataDir>/admin-token` (mode 0600, created with that mode). The database keeps only its hash.
 */
export async function ensureAdminToken(db: Kysely<Database>, dataDir: string): Promise<{ created: boolean; path: string }> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await db.selectFrom('admin_tokens').select('id').limit(1).executeTakeFirst();
  if (existing) return { created: false, path };
  const token = await db.transaction().execute(async (trx) => {
    // Two replicas starting at once on an empty database both get here: the account is made once.
    await trx.insertInto('admins').values({ name: FIRST_ADMIN, email: null, role: 'admin' }).onConflict((oc) => oc.column('name').doNothing()).execute();
    const admin = await trx.selectFrom('admins').select('id').where('name', '=', FIRST_ADMIN).executeTakeFirstOrThrow();
    return insertToken(trx, admin.id, 'initial');
  });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return { created: true, path };
}

/** A new API token for one admin account, returned once: only its hash is kept. */
export async function createAdminToken(db: Kysely<Database>, input: { admin: Admin; name: string; actor: string }): Promise<{ token: string; id: string }> {
  return db.transaction().execute(async (trx) => {
    const id = randomUUID();
    const token = await insertToken(trx, input.admin.id, input.name, id);
    await appendAudits(trx, [{ actor: input.actor, kind: 'admin_token.created', detail: { id, name: input.name, admin: input.admin.name } }]);
    return { token, id };
  });
}

async function insertToken(db: Kysely<Database>, adminId: string, name: string, id: string = randomUUID()): Promise<string> {
  const token = newIdentifiedSecret(PREFIX, id);
  await db.insertInto('admin_tokens').values({ id, name, token_hash: hashSecret(token), admin_id: adminId }).execute();
  return token;
}

export async function readAdminTokenFile(dataDir: string): Promise<string | null> {
  try {
    return (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
  } catch {
    return null;
  }
}

/** The account a presented admin token acts as (disabled or not: the caller refuses a disabled one, saying so); null for a wrong token. */
export async function authenticateAdmin(db: Kysely<Database>, presented: string): Promise<Admin | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db
    .selectFrom('admin_tokens')
    .innerJoin('admins', 'admins.id', 'admin_tokens.admin_id')
    .select(['admins.id', 'admins.name', 'admins.email', 'admins.role', 'admins.disabled', 'admin_tokens.token_hash'])
    .where('admin_tokens.id', '=', parsed.id)
    .executeTakeFirst();
  if (!row || !digestsEqual(row.token_hash, hashSecret(presented))) return null;
  return { id: row.id, name: row.name, email: row.email, role: row.role, disabled: row.disabled };
}

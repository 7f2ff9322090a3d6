import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'pat';
export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * On a database without admin tokens, creates one and writes it to `<dataDir>/admin-token`
 * (mode 0600, created with that mode). The database keeps only its hash.
 */
export async function ensureAdminToken(db: Kysely<Database>, dataDir: string): Promise<{ created: boolean; path: string }> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await db.selectFrom('admin_tokens').select('id').limit(1).executeTakeFirst();
  if (existing) return { created: false, path };
  const id = randomUUID();
  const token = newIdentifiedSecret(PREFIX, id);
  await db.insertInto('admin_tokens').values({ id, name: 'initial', token_hash: hashSecret(token) }).execute();
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return { created: true, path };
}

export async function readAdminTokenFile(dataDir: string): Promise<string | null> {
  try {
    return (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
  } catch {
    return null;
  }
}

export async function authenticateAdmin(db: Kysely<Database>, presented: string): Promise<{ id: string; name: string } | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db.selectFrom('admin_tokens').select(['id', 'name', 'token_hash']).where('id', '=', parsed.id).executeTakeFirst();
  if (!row || !digestsEqual(row.token_hash, hashSecret(presented))) return null;
  return { id: row.id, name: row.name };
}

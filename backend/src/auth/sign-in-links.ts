import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'psl';
export const SIGN_IN_LINK_TTL_S = 600;
export const SIGN_IN_LINK_PATH = '/auth/link';

/** A one-time secret that signs a browser in as this admin; the caller puts it in `/auth/link?t=`. */
export async function createSignInLink(db: Kysely<Database>, input: { adminId: string; next: string }, now: number): Promise<{ secret: string; expiresAt: number }> {
  const id = randomUUID();
  const secret = newIdentifiedSecret(PREFIX, id);
  const expiresAt = now + SIGN_IN_LINK_TTL_S;
  await db.deleteFrom('admin_sign_in_links').where('expires_at', '<=', new Date(now * 1000)).execute();
  await db.insertInto('admin_sign_in_links').values({ id, admin_id: input.adminId, secret_hash: hashSecret(secret), next_path: input.next, expires_at: new Date(expiresAt * 1000) }).execute();
  return { secret, expiresAt };
}

/** Spends a link: the admin and the path to go to the first time, null ever after (or when wrong or expired). */
export async function redeemSignInLink(db: Kysely<Database>, presented: string, now: number): Promise<{ adminId: string; next: string } | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db.selectFrom('admin_sign_in_links').select(['secret_hash']).where('id', '=', parsed.id).executeTakeFirst();
  if (!row || !digestsEqual(row.secret_hash, hashSecret(presented))) return null;
  // One statement decides, so two replicas given the same link cannot both spend it.
  const spent = await db
    .updateTable('admin_sign_in_links')
    .set({ used_at: new Date(now * 1000) })
    .where('id', '=', parsed.id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date(now * 1000))
    .returning(['admin_id', 'next_path'])
    .executeTakeFirst();
  return spent ? { adminId: spent.admin_id, next: spent.next_path } : null;
}

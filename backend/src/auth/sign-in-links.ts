import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { appendAudits } from '../audit/append.js';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'psl';
export const SIGN_IN_LINK_TTL_S = 600;
export const SIGN_IN_LINK_PATH = '/auth/link';

export interface SignInLink {
  adminId: string;
  next: string;
}

/**
 * A one-time secret that signs a browser in as this admin; the caller puts it in `/auth/link?t=`.
 * A link made for somebody else lets its maker act as them, so that one is audited (never the secret).
 */
export async function createSignInLink(db: Kysely<Database>, input: { admin: { id: string; name: string }; next: string; actor: string }, now: number): Promise<{ secret: string; expiresAt: number }> {
  const id = randomUUID();
  const secret = newIdentifiedSecret(PREFIX, id);
  const expiresAt = now + SIGN_IN_LINK_TTL_S;
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('admin_sign_in_links').where('expires_at', '<=', new Date(now * 1000)).execute();
    await trx.insertInto('admin_sign_in_links').values({ id, admin_id: input.admin.id, secret_hash: hashSecret(secret), next_path: input.next, expires_at: new Date(expiresAt * 1000) }).execute();
    if (input.actor !== `admin:${input.admin.name}`) {
      await appendAudits(trx, [{ actor: input.actor, kind: 'admin_sign_in_link.created', detail: { id, for: input.admin.name, next: input.next, expires_at: expiresAt } }]);
    }
  });
  return { secret, expiresAt };
}

/** The id of a presented link whose secret is right, or null; spent or expired links still match. */
async function matchingLink(db: Kysely<Database>, presented: string): Promise<string | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db.selectFrom('admin_sign_in_links').select(['secret_hash']).where('id', '=', parsed.id).executeTakeFirst();
  return row && digestsEqual(row.secret_hash, hashSecret(presented)) ? parsed.id : null;
}

/** What a link would sign in as, without spending it: GET and HEAD (mail scanners, link unfurlers) must leave it whole. */
export async function peekSignInLink(db: Kysely<Database>, presented: string, now: number): Promise<SignInLink | null> {
  const id = await matchingLink(db, presented);
  if (!id) return null;
  const row = await db
    .selectFrom('admin_sign_in_links')
    .select(['admin_id', 'next_path'])
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date(now * 1000))
    .executeTakeFirst();
  return row ? { adminId: row.admin_id, next: row.next_path } : null;
}

/** Spends a link: the admin and the path to go to the first time, null ever after (or when wrong or expired). */
export async function redeemSignInLink(db: Kysely<Database>, presented: string, now: number): Promise<SignInLink | null> {
  const id = await matchingLink(db, presented);
  if (!id) return null;
  // One statement decides, so two replicas given the same link cannot both spend it.
  const spent = await db
    .updateTable('admin_sign_in_links')
    .set({ used_at: new Date(now * 1000) })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date(now * 1000))
    .returning(['admin_id', 'next_path'])
    .executeTakeFirst();
  return spent ? { adminId: spent.admin_id, next: spent.next_path } : null;
}

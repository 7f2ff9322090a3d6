import { createHmac, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Admin } from '../accounts/accounts.js';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'pss';
/** A session ends after this long without a request… */
export const SESSION_IDLE_S = 2 * 3600;
/** …and this long after sign-in, however busy. */
export const SESSION_ABSOLUTE_S = 12 * 3600;
/** `last_used_at` is written at most this often, not on every request. */
const TOUCH_EVERY_S = 60;

export interface Session {
  id: string;
  admin: Admin;
  /** The synchroniser token every non-GET request of this session carries in `x-csrf-token`. */
  csrf: string;
}

/** Starts a session for an admin; the returned token goes in the cookie and nowhere else. */
export async function startSession(db: Kysely<Database>, adminId: string, now: number): Promise<string> {
  const id = randomUUID();
  const token = newIdentifiedSecret(PREFIX, id);
  await db.deleteFrom('admin_sessions').where('expires_at', '<=', new Date(now * 1000)).execute();
  await db
    .insertInto('admin_sessions')
    .values({ id, admin_id: adminId, token_hash: hashSecret(token), created_at: new Date(now * 1000), last_used_at: new Date(now * 1000), expires_at: new Date((now + SESSION_ABSOLUTE_S) * 1000) })
    .execute();
  return token;
}

/** The live session a cookie names, or null: wrong, ended, idle too long, or its admin disabled. */
export async function findSession(db: Kysely<Database>, presented: string, now: number): Promise<Session | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db
    .selectFrom('admin_sessions')
    .innerJoin('admins', 'admins.id', 'admin_sessions.admin_id')
    .select(['admin_sessions.token_hash', 'admin_sessions.last_used_at', 'admin_sessions.expires_at', 'admins.id', 'admins.name', 'admins.email', 'admins.role', 'admins.disabled'])
    .where('admin_sessions.id', '=', parsed.id)
    .executeTakeFirst();
  if (!row || !digestsEqual(row.token_hash, hashSecret(presented)) || row.disabled) return null;
  const lastUsed = row.last_used_at.getTime() / 1000;
  if (row.expires_at.getTime() / 1000 <= now || lastUsed + SESSION_IDLE_S <= now) return null;
  if (now - lastUsed >= TOUCH_EVERY_S) await db.updateTable('admin_sessions').set({ last_used_at: new Date(now * 1000) }).where('id', '=', parsed.id).execute();
  return { id: parsed.id, admin: { id: row.id, name: row.name, email: row.email, role: row.role, disabled: row.disabled }, csrf: csrfToken(presented) };
}

export async function endSession(db: Kysely<Database>, presented: string): Promise<void> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (parsed) await db.deleteFrom('admin_sessions').where('id', '=', parsed.id).where('token_hash', '=', hashSecret(presented)).execute();
}

/**
 * Derived from the session's secret, so it is bound to the session and needs no storage, yet
 * reveals nothing of the cookie: HMAC-SHA256 keyed by the cookie's value.
 */
function csrfToken(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('postern csrf v1').digest('base64url');
}

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

const PREFIX = 'pdl';
/** Long enough to read the page and fix a check or two; short enough that a forwarded link soon dies. */
export const PAGE_LINK_TTL_S = 900;
export const MY_DEVICE_PATH = '/my-device';

/** A secret that shows one device's page until it expires; only its hash is kept. */
export async function createPageLink(db: Kysely<Database>, deviceId: string, now: number): Promise<{ secret: string; expiresAt: number }> {
  const id = randomUUID();
  const secret = newIdentifiedSecret(PREFIX, id);
  const expiresAt = now + PAGE_LINK_TTL_S;
  await db.deleteFrom('device_page_links').where('expires_at', '<=', new Date(now * 1000)).execute();
  await db.insertInto('device_page_links').values({ id, device_id: deviceId, secret_hash: hashSecret(secret), expires_at: new Date(expiresAt * 1000) }).execute();
  return { secret, expiresAt };
}

/** The device a live link shows, or null (wrong, expired, or its device gone). */
export async function deviceOfPageLink(db: Kysely<Database>, presented: string, now: number): Promise<{ deviceId: string; expiresAt: number } | null> {
  const parsed = parseIdentifiedSecret(PREFIX, presented);
  if (!parsed) return null;
  const row = await db.selectFrom('device_page_links').select(['device_id', 'secret_hash', 'expires_at']).where('id', '=', parsed.id).executeTakeFirst();
  if (!row || !digestsEqual(row.secret_hash, hashSecret(presented)) || row.expires_at.getTime() <= now * 1000) return null;
  return { deviceId: row.device_id, expiresAt: Math.floor(row.expires_at.getTime() / 1000) };
}

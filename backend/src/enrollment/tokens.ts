import type { Kysely } from 'kysely';
import { uuid } from '@postern/shared';
import { appendAudit } from '../audit/append.js';
import { checkTokenRules, groupRules } from '../groups/settings.js';
import { HttpError } from '../http/http-error.js';
import { hashSecret, randomHex } from '../secrets/secret.js';
import { toSeconds } from '../store/rows.js';
import type { Database, EnrollmentToken } from '../store/schema.js';

export interface NewEnrollmentToken {
  group: string;
  uses: number;
  expiresInS: number;
  deviceTtlS: number | null;
  owner: string | null;
  /** The change a non-human host is enrolled under (CHG-123). */
  changeRef?: string | null;
  approval: boolean;
  actor: string;
}

/**
 * Creates an enrollment token; the plain token is returned once and only its hash is kept. The
 * group's rules (owner, change reference, longest lifetime) are checked first.
 */
export async function createEnrollmentToken(db: Kysely<Database>, spec: NewEnrollmentToken, now: number) {
  const token = `pet_${randomHex(32)}`;
  const changeRef = spec.changeRef ?? null;
  const row = await db.transaction().execute(async (trx) => {
    checkTokenRules(await groupRules(trx, spec.group), { owner: spec.owner, changeRef, deviceTtlS: spec.deviceTtlS });
    const inserted = await trx
      .insertInto('enrollment_tokens')
      .values({
        token_hash: hashSecret(token),
        group_name: spec.group,
        max_uses: spec.uses,
        expires_at: new Date((now + spec.expiresInS) * 1000),
        device_ttl_s: spec.deviceTtlS,
        owner: spec.owner,
        change_ref: changeRef,
        requires_approval: spec.approval,
        created_by: spec.actor,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: spec.actor, kind: 'enrollment_token.created', detail: { token_id: inserted.id, group: spec.group, uses: spec.uses, approval: spec.approval, owner: spec.owner, change_ref: changeRef } });
    return inserted;
  });
  return { token, row };
}

/** A token as admins see it: never the secret, nor its hash. */
export interface TokenView {
  id: string;
  group: string;
  owner: string | null;
  change_ref: string | null;
  uses: number;
  max_uses: number;
  uses_left: number;
  expires_at: number;
  device_ttl_s: number | null;
  approval: boolean;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
  /** `usable`, or why it no longer enrolls. */
  state: 'usable' | 'revoked' | 'expired' | 'used_up';
}

export function tokenView(row: EnrollmentToken, now: number): TokenView {
  const expiresAt = toSeconds(row.expires_at) ?? 0;
  const state = row.revoked_at !== null ? 'revoked' : expiresAt <= now ? 'expired' : row.uses >= row.max_uses ? 'used_up' : 'usable';
  return {
    id: row.id,
    group: row.group_name,
    owner: row.owner,
    change_ref: row.change_ref,
    uses: row.uses,
    max_uses: row.max_uses,
    uses_left: Math.max(0, row.max_uses - row.uses),
    expires_at: expiresAt,
    device_ttl_s: row.device_ttl_s,
    approval: row.requires_approval,
    created_at: toSeconds(row.created_at) ?? 0,
    created_by: row.created_by,
    revoked_at: toSeconds(row.revoked_at),
    revoked_by: row.revoked_by,
    state,
  };
}

/** Every token, newest first; `all` false leaves out those that can no longer enroll. */
export async function listEnrollmentTokens(db: Kysely<Database>, options: { all: boolean; now: number }): Promise<TokenView[]> {
  const rows = await db.selectFrom('enrollment_tokens').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map((row) => tokenView(row, options.now)).filter((t) => options.all || t.state === 'usable');
}

/** Revokes a token at once, audited as `enrollment_token.revoked`; revoking a revoked token changes nothing. */
export async function revokeEnrollmentToken(db: Kysely<Database>, input: { id: string; actor: string }, now: number): Promise<TokenView> {
  if (!uuid.safeParse(input.id).success) throw new HttpError('unknown_token', `no enrollment token ${input.id}: \`token list --all\` shows every token's id`);
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('enrollment_tokens').selectAll().where('id', '=', input.id).forUpdate().executeTakeFirst();
    if (!current) throw new HttpError('unknown_token', `no enrollment token ${input.id}: \`token list --all\` shows every token's id`);
    if (current.revoked_at !== null) return tokenView(current, now);
    const revoked = await trx.updateTable('enrollment_tokens').set({ revoked_at: new Date(now * 1000), revoked_by: input.actor }).where('id', '=', input.id).returningAll().executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: input.actor, kind: 'enrollment_token.revoked', detail: { token_id: input.id, group: current.group_name, uses: current.uses, max_uses: current.max_uses } });
    return tokenView(revoked, now);
  });
}

/**
 * Spends one use of a token, atomically: the guard is in the UPDATE, so two concurrent
 * enrollments with a single-use token enroll one device, never two. A revoked token is refused
 * with its own code, so the person holding it knows to ask for a new one rather than retry.
 */
export async function consumeEnrollmentToken(db: Kysely<Database>, token: string, now: number): Promise<EnrollmentToken> {
  const hash = hashSecret(token);
  const row = await db
    .updateTable('enrollment_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('token_hash', '=', hash)
    .where((eb) => eb('uses', '<', eb.ref('max_uses')))
    .where('expires_at', '>', new Date(now * 1000))
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) return row;
  const known = await db.selectFrom('enrollment_tokens').select(['revoked_at']).where('token_hash', '=', hash).executeTakeFirst();
  if (known?.revoked_at) throw new HttpError('token_revoked', `this enrollment token was revoked at ${known.revoked_at.toISOString()}: ask your administrator for a new one`);
  throw new HttpError('invalid_token', 'the enrollment token is unknown, expired or used up: ask your administrator for a new one');
}

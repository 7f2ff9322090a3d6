import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append.js';
import { hashSecret, randomHex } from '../secrets/secret.js';
import type { Database, EnrollmentToken } from '../store/schema.js';

export interface NewEnrollmentToken {
  group: string;
  uses: number;
  expiresInS: number;
  deviceTtlS: number | null;
  owner: string | null;
  approval: boolean;
  actor: string;
}

/** Creates an enrollment token; the plain token is returned once and only its hash is kept. */
export async function createEnrollmentToken(db: Kysely<Database>, spec: NewEnrollmentToken, now: number) {
  const token = `pet_${randomHex(32)}`;
  const row = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('enrollment_tokens')
      .values({
        token_hash: hashSecret(token),
        group_name: spec.group,
        max_uses: spec.uses,
        expires_at: new Date((now + spec.expiresInS) * 1000),
        device_ttl_s: spec.deviceTtlS,
        owner: spec.owner,
        requires_approval: spec.approval,
        created_by: spec.actor,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: spec.actor, kind: 'enrollment_token.created', detail: { token_id: inserted.id, group: spec.group, uses: spec.uses, approval: spec.approval } });
    return inserted;
  });
  return { token, row };
}

/**
 * Spends one use of a token, atomically: the guard is in the UPDATE, so two concurrent
 * enrollments with a single-use token enroll one device, never two.
 */
export async function consumeEnrollmentToken(db: Kysely<Database>, token: string, now: number): Promise<EnrollmentToken | null> {
  const row = await db
    .updateTable('enrollment_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('token_hash', '=', hashSecret(token))
    .where((eb) => eb('uses', '<', eb.ref('max_uses')))
    .where('expires_at', '>', new Date(now * 1000))
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

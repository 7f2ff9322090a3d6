import type { Kysely } from 'kysely';
import { z } from 'zod';
import { appendAudit } from '../audit/append.js';
import { HttpError } from '../http/http-error.js';
import type { Database, GroupSettings } from '../store/schema.js';

/**
 * What a group requires, kept in its own table rather than in the policy: the policy judges
 * posture, these rules govern enrollment (who owns a non-human host, under which change, for
 * how long). A group without a row requires nothing.
 */
export interface GroupRules {
  group: string;
  /** Longest access one grant may give: a token's device TTL, or an extension from its moment. */
  maxDeviceLifetimeS: number | null;
  /** Tokens must name an owner, a person's email. */
  requireOwner: boolean;
  /** Tokens must carry a change reference (CHG-123). */
  requireChangeRef: boolean;
}

const NO_RULES = { maxDeviceLifetimeS: null, requireOwner: false, requireChangeRef: false } as const;
const email = z.email();

export async function groupRules(db: Kysely<Database>, group: string): Promise<GroupRules> {
  const row = await db.selectFrom('group_settings').selectAll().where('group_name', '=', group).executeTakeFirst();
  return row ? rulesOf(row) : { group, ...NO_RULES };
}

export async function listGroupRules(db: Kysely<Database>): Promise<GroupRules[]> {
  const rows = await db.selectFrom('group_settings').selectAll().orderBy('group_name').execute();
  return rows.map(rulesOf);
}

/** Changes some of a group's rules (the others stay), audited as `group_settings.changed`. */
export async function setGroupRules(db: Kysely<Database>, change: Partial<Omit<GroupRules, 'group'>> & { group: string; actor: string }, now: number): Promise<GroupRules> {
  return db.transaction().execute(async (trx) => {
    const current = await groupRules(trx, change.group);
    const next: GroupRules = {
      group: change.group,
      maxDeviceLifetimeS: change.maxDeviceLifetimeS === undefined ? current.maxDeviceLifetimeS : change.maxDeviceLifetimeS,
      requireOwner: change.requireOwner ?? current.requireOwner,
      requireChangeRef: change.requireChangeRef ?? current.requireChangeRef,
    };
    const row = {
      group_name: next.group,
      max_device_lifetime_s: next.maxDeviceLifetimeS,
      require_owner: next.requireOwner,
      require_change_ref: next.requireChangeRef,
      updated_at: new Date(now * 1000),
      updated_by: change.actor,
    };
    await trx
      .insertInto('group_settings')
      .values(row)
      .onConflict((oc) => oc.column('group_name').doUpdateSet({ max_device_lifetime_s: row.max_device_lifetime_s, require_owner: row.require_owner, require_change_ref: row.require_change_ref, updated_at: row.updated_at, updated_by: row.updated_by }))
      .execute();
    await appendAudit(trx, {
      actor: change.actor,
      kind: 'group_settings.changed',
      detail: { group: next.group, max_device_lifetime_s: next.maxDeviceLifetimeS, require_owner: next.requireOwner, require_change_ref: next.requireChangeRef },
    });
    return next;
  });
}

type UnmetRule = 'owner' | 'owner_email' | 'change_ref' | 'no_end' | 'too_long';

/** The first of the group's rules that a grant (a token, or a device moved into the group) breaks. */
function unmetRule(rules: GroupRules, grant: { owner: string | null; changeRef: string | null; lifetimeS: number | null }): UnmetRule | null {
  if (rules.requireOwner && grant.owner === null) return 'owner';
  if (rules.requireOwner && grant.owner !== null && !email.safeParse(grant.owner).success) return 'owner_email';
  if (rules.requireChangeRef && grant.changeRef === null) return 'change_ref';
  if (rules.maxDeviceLifetimeS !== null && grant.lifetimeS === null) return 'no_end';
  if (rules.maxDeviceLifetimeS !== null && grant.lifetimeS !== null && grant.lifetimeS > rules.maxDeviceLifetimeS) return 'too_long';
  return null;
}

/** A token for this group must meet its rules: refused with `group_requirement`, saying which and how to fix it. */
export function checkTokenRules(rules: GroupRules, token: { owner: string | null; changeRef: string | null; deviceTtlS: number | null }): void {
  const g = JSON.stringify(rules.group);
  const max = rules.maxDeviceLifetimeS;
  const messages: Record<UnmetRule, string> = {
    owner: `group ${g} requires an owner on its tokens: give the email of the person responsible (--owner, "owner")`,
    owner_email: `group ${g} requires its owner to be a person's email, and ${JSON.stringify(token.owner)} is not one (--owner, "owner")`,
    change_ref: `group ${g} requires a change reference on its tokens, such as CHG-123 (--change-ref, "change_ref")`,
    no_end: `group ${g} gives devices at most ${max} s of access: give a device TTL within it (--device-ttl, "device_ttl_s")`,
    too_long: `group ${g} gives devices at most ${max} s of access, and the device TTL asks ${token.deviceTtlS} s: give a shorter one`,
  };
  const unmet = unmetRule(rules, { owner: token.owner, changeRef: token.changeRef, lifetimeS: token.deviceTtlS });
  if (unmet) throw new HttpError('group_requirement', messages[unmet]);
}

/**
 * A device moved into a group must already meet the rules its tokens must meet, or a move would
 * be a way round them (an endless device in a group of 30-day grants).
 */
export function checkDeviceRules(rules: GroupRules, device: { id: string; owner: string | null; changeRef: string | null; expiresAt: number | null }, now: number): void {
  const g = JSON.stringify(rules.group);
  const max = rules.maxDeviceLifetimeS;
  const ends = device.expiresAt === null ? 'never' : new Date(device.expiresAt * 1000).toISOString();
  const messages: Record<UnmetRule, string> = {
    owner: `group ${g} requires an owner, and device ${device.id} has none: set one first (\`device set-owner\`)`,
    owner_email: `group ${g} requires its owner to be a person's email, and device ${device.id}'s owner ${JSON.stringify(device.owner)} is not one: set one first (\`device set-owner\`)`,
    change_ref: `group ${g} requires a change reference, and device ${device.id} has none: set one first (\`device set-change-ref\`)`,
    no_end: `group ${g} gives devices at most ${max} s of access, and device ${device.id}'s access never ends: give it an end first (\`device extend --until\`)`,
    too_long: `group ${g} gives devices at most ${max} s of access from now, and device ${device.id}'s ends ${ends}: give it an earlier end first (\`device extend --until\`)`,
  };
  const unmet = unmetRule(rules, { owner: device.owner, changeRef: device.changeRef, lifetimeS: device.expiresAt === null ? null : device.expiresAt - now });
  if (unmet) throw new HttpError('group_requirement', messages[unmet]);
}

/** An end date given at `now` must lie within the group's maximum lifetime from then. */
export function checkEndDateRules(rules: GroupRules, until: number, now: number): void {
  if (rules.maxDeviceLifetimeS !== null && until - now > rules.maxDeviceLifetimeS) {
    throw new HttpError('group_requirement', `group ${JSON.stringify(rules.group)} gives devices at most ${rules.maxDeviceLifetimeS} s of access from now: choose an end before ${new Date((now + rules.maxDeviceLifetimeS) * 1000).toISOString()}`);
  }
}

function rulesOf(row: GroupSettings): GroupRules {
  return { group: row.group_name, maxDeviceLifetimeS: row.max_device_lifetime_s, requireOwner: row.require_owner, requireChangeRef: row.require_change_ref };
}

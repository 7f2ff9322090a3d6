import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { recordEvents } from '../journal/record.js';
import { POLICY_VERSION_LOCK } from '../store/advisory-locks.js';
import type { Database, PolicyVersion } from '../store/schema.js';
import { DEFAULT_SLOT, defaultPolicyRaw, defaultPolicySource } from '../policy/default-policy.js';
import type { PolicySourceFormat } from '../policy/document.js';


export interface NewPolicyVersion {
  group: string;
  source: string;
  format: PolicySourceFormat;
  /** The parsed document as written (stored as jsonb, validated again when loaded). */
  raw: unknown;
  author: string;
  message: string;
  /** Who did it, for the audit log (`admin:<token name>`). */
  actor: string;
  rolledBackFrom?: number;
}

/**
 * Stores a new immutable version of a group's policy, makes it the active one, and audits it, in
 * one transaction. Versions of a group are numbered 1, 2, 3 … under a lock, so replicas applying
 * at once get distinct numbers.
 */
export async function createPolicyVersion(db: Kysely<Database>, spec: NewPolicyVersion): Promise<{ row: PolicyVersion; previousVersion: number | null }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${POLICY_VERSION_LOCK}, hashtext(${spec.group}))`.execute(trx);
    const last = await trx.selectFrom('policy_versions').select((eb) => eb.fn.max('version').as('max')).where('group_name', '=', spec.group).executeTakeFirst();
    const active = await trx
      .selectFrom('active_policies')
      .innerJoin('policy_versions', 'policy_versions.id', 'active_policies.version_id')
      .select('policy_versions.version')
      .where('active_policies.group_name', '=', spec.group)
      .executeTakeFirst();
    const version = Number(last?.max ?? 0) + 1;
    const sourceSha256 = createHash('sha256').update(spec.source, 'utf8').digest('hex');
    const row = await trx
      .insertInto('policy_versions')
      .values({ group_name: spec.group, version, document: JSON.stringify(spec.raw), source: spec.source, format: spec.format, source_sha256: sourceSha256, author: spec.author, message: spec.message })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('active_policies')
      .values({ group_name: spec.group, version_id: row.id, activated_by: spec.actor })
      .onConflict((oc) => oc.column('group_name').doUpdateSet({ version_id: row.id, activated_at: new Date(), activated_by: spec.actor }))
      .execute();
    await recordEvents(trx, [{
      type: 'policy.applied',
      actor: spec.actor,
      deviceId: null,
      data: {
        group: spec.group,
        version,
        policy: `${spec.group}@${version}`,
        previous: active ? `${spec.group}@${active.version}` : null,
        author: spec.author,
        message: spec.message,
        source_sha256: sourceSha256,
        ...(spec.rolledBackFrom !== undefined ? { rolled_back_from: spec.rolledBackFrom } : {}),
      },
    }]);
    return { row, previousVersion: active?.version ?? null };
  });
}

/**
 * On a database without any version of the `default` slot, stores the shipped default document
 * as `default@1` and activates it, so history and `policy show` cover it like any other.
 */
export async function ensureDefaultPolicy(db: Kysely<Database>): Promise<boolean> {
  const existing = await db.selectFrom('policy_versions').select('id').where('group_name', '=', DEFAULT_SLOT).limit(1).executeTakeFirst();
  if (existing) return false;
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${POLICY_VERSION_LOCK}, hashtext(${DEFAULT_SLOT}))`.execute(trx);
    const again = await trx.selectFrom('policy_versions').select('id').where('group_name', '=', DEFAULT_SLOT).limit(1).executeTakeFirst();
    if (again) return false;
    const sourceSha256 = createHash('sha256').update(defaultPolicySource, 'utf8').digest('hex');
    const row = await trx
      .insertInto('policy_versions')
      .values({ group_name: DEFAULT_SLOT, version: 1, document: JSON.stringify(defaultPolicyRaw), source: defaultPolicySource, format: 'yaml', source_sha256: sourceSha256, author: 'postern', message: 'built-in default policy' })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.insertInto('active_policies').values({ group_name: DEFAULT_SLOT, version_id: row.id, activated_by: 'postern' }).onConflict((oc) => oc.doNothing()).execute();
    await recordEvents(trx, [{ type: 'policy.applied', actor: 'postern', deviceId: null, data: { group: DEFAULT_SLOT, version: 1, policy: `${DEFAULT_SLOT}@1`, previous: null, author: 'postern', message: 'built-in default policy', source_sha256: sourceSha256 } }]);
    return true;
  });
}

export interface VersionSummary {
  group: string;
  version: number;
  policy: string;
  active: boolean;
  author: string;
  message: string;
  created_at: number;
  source_sha256: string;
}

/** Every version, newest first, of one group or of all. */
export async function listPolicyVersions(db: Kysely<Database>, group?: string): Promise<VersionSummary[]> {
  let query = db
    .selectFrom('policy_versions')
    .leftJoin('active_policies', 'active_policies.version_id', 'policy_versions.id')
    .select(['policy_versions.group_name', 'policy_versions.version', 'policy_versions.author', 'policy_versions.message', 'policy_versions.created_at', 'policy_versions.source_sha256', 'active_policies.group_name as active_for']);
  if (group) query = query.where('policy_versions.group_name', '=', group);
  const rows = await query.orderBy('policy_versions.group_name').orderBy('policy_versions.version', 'desc').execute();
  return rows.map((r) => ({
    group: r.group_name,
    version: r.version,
    policy: `${r.group_name}@${r.version}`,
    active: r.active_for !== null,
    author: r.author,
    message: r.message,
    created_at: Math.floor(r.created_at.getTime() / 1000),
    source_sha256: r.source_sha256,
  }));
}

/** One version of a group: the given number, else the active one. */
export async function findPolicyVersion(db: Kysely<Database>, group: string, version?: number): Promise<(PolicyVersion & { active: boolean }) | null> {
  const active = await db.selectFrom('active_policies').select('version_id').where('group_name', '=', group).executeTakeFirst();
  let query = db.selectFrom('policy_versions').selectAll().where('group_name', '=', group);
  if (version !== undefined) query = query.where('version', '=', version);
  else if (active) query = query.where('id', '=', active.version_id);
  else return null;
  const row = await query.executeTakeFirst();
  return row ? { ...row, active: row.id === active?.version_id } : null;
}

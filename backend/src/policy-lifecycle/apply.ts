import type { Kysely } from 'kysely';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../store/schema.js';
import { diffPolicy, type DiffReport } from './dry-run.js';
import { compilePolicy, parsePolicySource, PolicyInvalid, type PolicyDocument, type PolicySourceFormat } from '../policy/document.js';
import type { PolicyCache } from './policy-cache.js';
import { reevaluate, type ReevaluationReport } from '../standing/reevaluate.js';
import { createPolicyVersion, findPolicyVersion } from './versions.js';

export interface PolicyDeps {
  db: Kysely<Database>;
  policies: PolicyCache;
  log: Logger;
  now(): number;
}

export class PolicyTargetMissing extends Error {
  readonly code = 'group_required';
}

export interface ApplyResult {
  group: string;
  version: number;
  policy: string;
  previous: string | null;
  reevaluation: ReevaluationReport;
}

/** Parses a source or throws PolicyInvalid with every problem. */
export function parseOrThrow(source: string, file: string): { document: PolicyDocument; raw: unknown; format: PolicySourceFormat } {
  const parsed = parsePolicySource(source, file);
  if (!parsed.ok) throw new PolicyInvalid(parsed.problems);
  return parsed;
}

/** The name a stored version's source is parsed under, so problems read `contractors@1.yaml:7:5: …`. */
function storedFileName(group: string, version: number, format: PolicySourceFormat): string {
  return `${group}@${version}.${format === 'json' ? 'json' : 'yaml'}`;
}

/** `--group` wins; else the document's `group`; else the caller must say. */
export function targetGroup(document: PolicyDocument, group: string | undefined): string {
  const target = group ?? document.group;
  if (!target) throw new PolicyTargetMissing('say which group this policy is for: pass --group GROUP (API: "group"), or write `group: GROUP` in the document');
  return target;
}

/**
 * Applies a policy: a new immutable version becomes the group's active one (recorded as a
 * `policy.applied` event, on which every replica reloads it and tells the group's connected
 * agents to `collect`), and every device it judges is judged again at once from its latest
 * posture (verdict changes recorded with cause `policy`).
 */
export async function applyPolicy(
  deps: PolicyDeps,
  input: { source: string; file: string; group?: string; author: string; message: string; actor: string },
): Promise<ApplyResult> {
  const parsed = parseOrThrow(input.source, input.file);
  const group = targetGroup(parsed.document, input.group);
  return activate(deps, { group, source: input.source, format: parsed.format, raw: parsed.raw, author: input.author, message: input.message, actor: input.actor });
}

/** Rollback: the document of an old version applied again, as a new version that says so. */
export async function rollbackPolicy(deps: PolicyDeps, input: { group: string; version: number; author: string; message: string; actor: string }): Promise<ApplyResult | null> {
  const old = await findPolicyVersion(deps.db, input.group, input.version);
  if (!old) return null;
  // Validated again against this server's catalog, by the parser `apply` uses: a version stored by an
  // older server may no longer be valid, and activating it would leave the group without a loadable policy.
  const parsed = parseOrThrow(old.source, storedFileName(input.group, old.version, old.format));
  return activate(deps, { group: input.group, source: old.source, format: parsed.format, raw: parsed.raw, author: input.author, message: input.message, actor: input.actor, rolledBackFrom: old.version });
}

async function activate(
  deps: PolicyDeps,
  spec: { group: string; source: string; format: PolicySourceFormat; raw: unknown; author: string; message: string; actor: string; rolledBackFrom?: number },
): Promise<ApplyResult> {
  const { row, previousVersion } = await createPolicyVersion(deps.db, spec);
  // Reloaded here, not only by the event's consumer (whose errors are only logged), so a version
  // this replica cannot load fails the request, and re-evaluation below uses it.
  await deps.policies.reload();
  const policy = `${spec.group}@${row.version}`;
  const ownGroups = deps.policies.slots().filter((s) => deps.policies.hasOwn(s));
  const reevaluation = await reevaluate(deps, { slot: spec.group, ownGroups }, { cause: 'policy', actor: spec.actor, reason: `policy ${policy} applied` });
  deps.log.info({ policy, devices: reevaluation.devices, changed: reevaluation.changed, ms: reevaluation.ms }, 'policy applied and devices re-evaluated');
  return { group: spec.group, version: row.version, policy, previous: previousVersion === null ? null : `${spec.group}@${previousVersion}`, reevaluation };
}

/** The dry run of `applyPolicy`: what would change, for which devices and why. Writes nothing. */
export async function previewPolicy(deps: PolicyDeps, input: { source: string; file: string; group?: string; limit?: number }): Promise<DiffReport> {
  const parsed = parseOrThrow(input.source, input.file);
  const group = targetGroup(parsed.document, input.group);
  const last = await deps.db.selectFrom('policy_versions').select((eb) => eb.fn.max('version').as('max')).where('group_name', '=', group).executeTakeFirst();
  const candidate = compilePolicy(parsed.document, group, Number(last?.max ?? 0) + 1);
  return diffPolicy(deps, candidate, input.limit !== undefined ? { limit: input.limit } : {});
}


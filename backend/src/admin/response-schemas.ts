import { checkResult, numericDate, uuid, verdict } from '@postern/shared';
import { z } from 'zod';
import type { ChainReport } from '../audit/verify.js';
import type { AuditView } from '../audit/list.js';
import type { TokenView } from '../enrollment/tokens.js';
import type { ExceptionView } from '../exceptions/exceptions.js';
import type { ApplyResult } from '../policy-lifecycle/apply.js';
import type { DiffReport } from '../policy-lifecycle/dry-run.js';
import type { VersionSummary } from '../policy-lifecycle/versions.js';
import { gatewayScope } from '../gateways/gateway-keys.js';

// What the admin routes answer. The routes build their bodies as these types, and the OpenAPI
// document is generated from them; `satisfies` keeps each schema in step with the domain type it describes.

export const enrollmentTokenCreated = z.object({
  token: z.string(),
  id: uuid,
  group: z.string(),
  uses: z.number().int(),
  expires_at: numericDate,
  device_ttl_s: z.number().int().nullable(),
  owner: z.string().nullable(),
  change_ref: z.string().nullable(),
  approval: z.boolean(),
});

export const tokenView = z.object({
  id: uuid,
  group: z.string(),
  owner: z.string().nullable(),
  change_ref: z.string().nullable(),
  uses: z.number().int(),
  max_uses: z.number().int(),
  uses_left: z.number().int(),
  expires_at: numericDate,
  device_ttl_s: z.number().int().nullable(),
  approval: z.boolean(),
  created_at: numericDate,
  created_by: z.string(),
  revoked_at: numericDate.nullable(),
  revoked_by: z.string().nullable(),
  state: z.enum(['usable', 'revoked', 'expired', 'used_up']),
}) satisfies z.ZodType<TokenView>;
export const tokenList = z.object({ tokens: z.array(tokenView) });

export const groupRules = z.object({
  group: z.string(),
  max_device_lifetime_s: z.number().int().nullable(),
  require_owner: z.boolean(),
  require_change_ref: z.boolean(),
});
export const groupRulesList = z.object({ groups: z.array(groupRules) });

export const gatewayKeyCreated = z.object({ key: z.string(), id: uuid, name: z.string(), scopes: z.array(gatewayScope) });
/** A gateway key as listed: never the key or its hash. */
export const gatewayKeyView = z.object({ id: uuid, name: z.string(), scopes: z.array(z.string()), created_at: z.number().int(), revoked_at: z.number().int().nullable() });
export const gatewayKeyList = z.object({ keys: z.array(gatewayKeyView) });

export const deviceView = z.object({
  device_id: uuid,
  hostname: z.string(),
  platform: z.string(),
  group: z.string(),
  owner: z.string().nullable(),
  status: z.enum(['active', 'pending_approval', 'revoked']),
  kid: z.string(),
  serial: z.string().nullable(),
  agent_version: z.string(),
  enrolled_at: numericDate.nullable(),
  expires_at: numericDate.nullable(),
  last_seen_at: numericDate.nullable(),
  change_ref: z.string().nullable(),
  /** A pending enrollment nobody decides on is revoked then (reason `pending_expired`). */
  pending_until: numericDate.nullable(),
  /** The still-enrolled device of the same machine this one waits to replace (`device relink`), and afterwards the one it replaced. */
  relink_of: uuid.nullable(),
  key_created_at: numericDate.nullable(),
  /** A key rotation in progress: the new key, not yet confirmed. */
  pending_kid: z.string().nullable(),
});
export type DeviceView = z.infer<typeof deviceView>;

const score = z.number().int().min(0).max(100);
export const deviceList = z.object({ devices: z.array(deviceView.extend({ verdict, score })) });
export const deviceDetail = deviceView.extend({
  verdict,
  score,
  checks: z.array(checkResult),
  policy: z.string().nullable(),
  evaluated_at: numericDate.nullable(),
  expires_at_verdict: numericDate.nullable(),
});
export const deviceRegrouped = deviceView.extend({ verdict, score, policy: z.string().nullable() });
export const deviceRelinked = z.object({ device: deviceView, replaced: deviceView });

const policyProblem = z.object({ file: z.string(), line: z.number().int(), column: z.number().int(), path: z.string(), message: z.string() });
export const policyProblems = z.array(policyProblem);
export const policyValidation = z.union([
  z.object({ valid: z.literal(true), problems: z.array(policyProblem).max(0), group: z.string().nullable(), checks: z.array(z.string()) }),
  z.object({ valid: z.literal(false), problems: policyProblems }),
]);

// 'absent': the check is in only one of the two policies.
const checkStatus = z.enum([...checkResult.shape.status.options, 'absent']);
export const policyDiff = z.object({
  group: z.string(),
  policy_from: z.array(z.string()),
  policy_to: z.string(),
  devices: z.number().int(),
  changed: z.number().int(),
  unchanged: z.number().int(),
  transitions: z.record(z.string(), z.number().int()),
  differences: z.array(
    z.object({
      device_id: uuid,
      hostname: z.string(),
      group: z.string(),
      from: verdict,
      to: verdict,
      score_from: score,
      score_to: score,
      checks: z.array(z.object({ id: z.string(), from: checkStatus, to: checkStatus, message: z.string() })),
    }),
  ),
  truncated: z.boolean(),
}) satisfies z.ZodType<DiffReport>;

export const policyApplied = z.object({
  group: z.string(),
  version: z.number().int().positive(),
  policy: z.string(),
  previous: z.string().nullable(),
  reevaluation: z.object({ devices: z.number().int(), changed: z.number().int(), transitions: z.record(z.string(), z.number().int()), ms: z.number() }),
}) satisfies z.ZodType<ApplyResult>;

const versionSummary = z.object({
  group: z.string(),
  version: z.number().int().positive(),
  policy: z.string(),
  active: z.boolean(),
  author: z.string(),
  message: z.string(),
  created_at: numericDate,
  source_sha256: z.string(),
}) satisfies z.ZodType<VersionSummary>;
export const policyVersions = z.object({ versions: z.array(versionSummary) });
export const policyVersion = versionSummary.extend({ format: z.enum(['yaml', 'json']), source: z.string(), document: z.unknown() });

export const exceptionView = z.object({
  id: uuid,
  device_id: uuid,
  check: z.string(),
  until: numericDate,
  reason: z.string(),
  granted_by: z.string(),
  granted_at: numericDate,
  revoked_at: numericDate.nullable(),
  revoked_by: z.string().nullable(),
  active: z.boolean(),
}) satisfies z.ZodType<ExceptionView>;
export const exceptionList = z.object({ exceptions: z.array(exceptionView) });

const auditEntry = z.object({
  id: z.number().int(),
  at: numericDate,
  actor: z.string(),
  kind: z.string(),
  device_id: uuid.nullable(),
  detail: z.record(z.string(), z.unknown()),
  hash: z.string(),
}) satisfies z.ZodType<AuditView>;
export const auditList = z.object({ entries: z.array(auditEntry) });
export const auditChainReport = z.union([
  z.object({ ok: z.literal(true), entries: z.number().int(), head: z.object({ id: z.number().int(), hash: z.string() }).nullable() }),
  z.object({ ok: z.literal(false), entries_checked: z.number().int(), entry_id: z.number().int(), problem: z.enum(['altered', 'removed', 'relinked']), message: z.string() }),
]) satisfies z.ZodType<ChainReport>;

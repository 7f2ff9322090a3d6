import type { Router } from '@koa/router';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { readQuery } from '../http/read-query.js';
import { applyPolicy, previewPolicy, rollbackPolicy } from '../policy-lifecycle/apply.js';
import { groupName, MAX_POLICY_BYTES, parsePolicySource } from '../policy/document.js';
import { findPolicyVersion, listPolicyVersions } from '../policy-lifecycle/versions.js';
import { actorOf, asHttpErrors, requireRole } from './require-admin.js';
import { policyVersion } from './response-schemas.js';

const source = z.string().min(1).max(MAX_POLICY_BYTES);
const filename = z.string().max(255).default('policy');
const author = z.string().trim().min(1).max(200).optional();
const message = z.string().trim().min(1, 'say why: a message is required').max(2000);
export const validatePolicyBody = z.object({ source, filename });
export const diffPolicyBody = z.object({ source, filename, group: groupName.optional(), limit: z.number().int().min(1).max(100_000).optional() });
export const applyPolicyBody = z.object({ source, filename, group: groupName.optional(), message, author });
export const rollbackPolicyBody = z.object({ version: z.number().int().positive(), message, author });
export const policyListQuery = z.object({ group: groupName.optional() });
export const policyShowQuery = z.object({ version: z.coerce.number().int().min(1).optional() });
/** Policy sources are up to 64 KiB, which JSON escaping can grow. */
const BODY_LIMIT = 4 * MAX_POLICY_BYTES;

/** Policy versions: validate, dry run, apply, roll back, history, show. */
export function policyRoutes(router: Router, backend: Backend): void {
  // Validating and dry runs change nothing: a viewer may; applying and rolling back need admin.
  const viewer = requireRole(backend, 'viewer');
  const admin = requireRole(backend, 'admin');

  router.post('/v1/admin/policies/validate', viewer, async (ctx) => {
    const body = await readJson(ctx, validatePolicyBody, BODY_LIMIT);
    const parsed = parsePolicySource(body.source, body.filename);
    ctx.body = parsed.ok
      ? { valid: true, problems: [], group: parsed.document.group ?? null, checks: parsed.document.checks.map((c) => c.id) }
      : { valid: false, problems: parsed.problems };
  });

  router.post('/v1/admin/policies/diff', viewer, async (ctx) => {
    const body = await readJson(ctx, diffPolicyBody, BODY_LIMIT);
    ctx.body = await asHttpErrors(() => previewPolicy(backend, { source: body.source, file: body.filename, ...(body.group ? { group: body.group } : {}), ...(body.limit ? { limit: body.limit } : {}) }));
  });

  router.post('/v1/admin/policies', admin, async (ctx) => {
    const body = await readJson(ctx, applyPolicyBody, BODY_LIMIT);
    const actor = actorOf(ctx);
    ctx.body = await asHttpErrors(() =>
      applyPolicy(backend, { source: body.source, file: body.filename, ...(body.group ? { group: body.group } : {}), message: body.message, author: body.author ?? actor, actor }),
    );
    ctx.status = 201;
  });

  router.post('/v1/admin/policies/:group/rollback', admin, async (ctx) => {
    const group = parseGroup(ctx.params.group);
    const body = await readJson(ctx, rollbackPolicyBody);
    const actor = actorOf(ctx);
    const result = await rollbackPolicy(backend, { group, version: body.version, message: body.message, author: body.author ?? actor, actor });
    if (!result) throw new HttpError('unknown_policy_version', `group ${group} has no policy version ${body.version}`);
    ctx.status = 201;
    ctx.body = result;
  });

  router.get('/v1/admin/policies', viewer, async (ctx) => {
    const { group } = readQuery(ctx, policyListQuery);
    ctx.body = { versions: await listPolicyVersions(backend.db, group) };
  });

  router.get('/v1/admin/policies/:group', viewer, async (ctx) => {
    const group = parseGroup(ctx.params.group);
    const { version } = readQuery(ctx, policyShowQuery);
    const row = await findPolicyVersion(backend.db, group, version);
    if (!row) {
      const effective = backend.policies.forGroup(group);
      throw new HttpError('unknown_policy_version', version === undefined ? `group ${group} has no policy of its own: it is judged by ${effective.id}@${effective.version}` : `group ${group} has no policy version ${version}`);
    }
    const body: z.infer<typeof policyVersion> = {
      group: row.group_name,
      version: row.version,
      policy: `${row.group_name}@${row.version}`,
      active: row.active,
      author: row.author,
      message: row.message,
      created_at: Math.floor(row.created_at.getTime() / 1000),
      format: row.format,
      source_sha256: row.source_sha256,
      source: row.source,
      document: row.document,
    };
    ctx.body = body;
  });
}

function parseGroup(value: string | undefined): string {
  const parsed = groupName.safeParse(value);
  if (!parsed.success) throw new HttpError('malformed', `"${value}" is not a group name: letters, digits, ".", "_" and "-" only`);
  return parsed.data;
}

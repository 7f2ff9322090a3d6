import { platform, severity } from '@postern/shared';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { catalog, DEFAULT_MAX_AGE_S } from './catalog.js';
import { duration } from './duration-schema.js';
import type { Policy, PolicyCheck } from './types.js';

/** Largest policy source accepted, in bytes. */
export const MAX_POLICY_BYTES = 64 * 1024;

/** Group names (and the `default` slot): the same rule as enrollment tokens. */
export const groupName = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-" only');

const text = z.string().min(1).max(2000);
const remediationValue = z.union([text, z.record(z.string(), text)]);

const checkEntry = z
  .strictObject({
    id: z.string(),
    severity,
    weight: z.number().int().min(0).max(1000),
    enforcement: z.enum(['block', 'warn_then_block', 'notify']),
    grace: duration.optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    platforms: z.array(platform).min(1).optional(),
    on_unknown: z.enum(['unknown', 'ignore']).optional(),
    remediation: z.strictObject({ linux: remediationValue.optional(), darwin: remediationValue.optional(), win32: remediationValue.optional(), default: remediationValue.optional() }).default({}),
  })
  .transform((check, ctx) => {
    const entry = catalog.get(check.id);
    if (!entry) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: `unknown check "${check.id}"; the catalog has ${[...catalog.keys()].join(', ')}` });
      return z.NEVER;
    }
    if (check.enforcement === 'warn_then_block' && check.grace === undefined) ctx.addIssue({ code: 'custom', path: ['enforcement'], message: 'warn_then_block needs a grace period: add `grace: 7d` (or another duration)' });
    if (check.enforcement !== 'warn_then_block' && check.grace !== undefined) ctx.addIssue({ code: 'custom', path: ['grace'], message: `a grace period applies only to enforcement warn_then_block, not ${check.enforcement}` });
    const params = entry.params.safeParse(check.params);
    if (!params.success) {
      for (const issue of params.error.issues) {
        const path = ['params', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
        if (issue.code === 'unrecognized_keys') for (const key of issue.keys) ctx.addIssue({ code: 'custom', path: [...path, key], message: `unknown field "${key}" (${check.id})` });
        else ctx.addIssue({ code: 'custom', path, message: `${issue.message} (${check.id})` });
      }
    }
    const states = new Set(['default', 'unknown', ...entry.reasons]);
    for (const [where, value] of Object.entries(check.remediation)) {
      if (typeof value === 'string') continue;
      for (const state of Object.keys(value)) {
        if (!states.has(state)) ctx.addIssue({ code: 'custom', path: ['remediation', where, state], message: `${check.id} has no state "${state}": use ${[...states].join(', ')}` });
      }
    }
    if (!params.success) return z.NEVER;
    return { ...check, params: params.data };
  });

/** A policy document as written (YAML or JSON), after validation. See docs/policy.md. */
export const policyDocument = z
  .strictObject({
    postern_policy: z.literal(1, { error: 'expected `postern_policy: 1` (the document format) at the top' }),
    name: z.string().min(1).max(100).optional(),
    description: z.string().max(4000).optional(),
    group: groupName.optional(),
    report_interval: duration.default(300),
    on_unknown: z.enum(['unknown', 'ignore']).default('unknown'),
    checks: z.array(checkEntry).min(1).max(100),
  })
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.checks.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `check ${c.id} is listed twice: a check appears at most once` });
      seen.add(c.id);
    });
    if (doc.report_interval < 10) ctx.addIssue({ code: 'custom', path: ['report_interval'], message: 'the report interval must be at least 10s' });
    // A maximum age below the report interval leaves devices unknown between reports (0: always).
    const maxAgeAt = doc.checks.findIndex((c) => c.id === 'report.max_age');
    const maxAge = maxAgeAt >= 0 ? (doc.checks[maxAgeAt]?.params as { max_age: number }).max_age : DEFAULT_MAX_AGE_S;
    if (maxAge > 0 && maxAge < doc.report_interval) {
      ctx.addIssue(
        maxAgeAt >= 0
          ? { code: 'custom', path: ['checks', maxAgeAt, 'params', 'max_age'], message: `report.max_age's max_age (${maxAge}s) must be at least report_interval (${doc.report_interval}s): devices would be unknown between reports` }
          : { code: 'custom', path: ['report_interval'], message: `report_interval (${doc.report_interval}s) is longer than the default max_age of report.max_age (${DEFAULT_MAX_AGE_S}s): devices would be unknown between reports; shorten report_interval or add report.max_age with max_age at least report_interval` },
      );
    }
  });
export type PolicyDocument = z.infer<typeof policyDocument>;

/** One mistake in a policy source: where it is and what was expected. */
export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  /** The path in the document, such as `checks[2].params.max`. */
  path: string;
  message: string;
}

export type PolicySourceFormat = 'yaml' | 'json';

export type ParseResult =
  | { ok: true; document: PolicyDocument; raw: unknown; format: PolicySourceFormat }
  | { ok: false; problems: PolicyProblem[] };

export class PolicyInvalid extends Error {
  readonly code = 'invalid_policy';
  constructor(
    readonly problems: PolicyProblem[],
    message = problems.length === 0 ? 'the policy is invalid' : `the policy is invalid: ${problems.map(formatProblem).join('; ')}`,
  ) {
    super(message);
  }
}

/** `policy.yaml:12:7: checks[2].params.max: expected a number`, the line a compiler would print. */
export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/**
 * Parses and validates a policy source, YAML or JSON (JSON is read by the same YAML 1.2 parser, so
 * both keep source positions). Every problem names its file, line, column and path.
 *
 * @example parsePolicySource('postern_policy: 1\nchecks: []\n', 'p.yaml') // → { ok: false, problems: [{ line: 2, path: 'checks', … }] }
 */
export function parsePolicySource(source: string, file = 'policy'): ParseResult {
  if (Buffer.byteLength(source, 'utf8') > MAX_POLICY_BYTES) return { ok: false, problems: [{ file, line: 1, column: 1, path: '', message: `the policy is larger than ${MAX_POLICY_BYTES} bytes` }] };
  const format: PolicySourceFormat = /\.json$/i.test(file) || /^\s*\{/.test(source) ? 'json' : 'yaml';
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        return { file, line: at.line, column: at.col, path: '', message: e.message.split('\n')[0] ?? e.message };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ file, line: 1, column: 1, path: '', message: (error as Error).message }] };
  }
  const parsed = policyDocument.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, document: parsed.data, raw, format };
  const issues: Array<{ code: string; path: PropertyKey[]; message: string; keys?: string[] }> = [...parsed.error.issues];
  // A check with one wrong field is not transformed, so its parameters would go unchecked: check them too.
  const rawChecks = (raw as { checks?: unknown } | null)?.checks;
  if (Array.isArray(rawChecks)) {
    rawChecks.forEach((check: unknown, i) => {
      const { id, params } = (check ?? {}) as { id?: unknown; params?: unknown };
      const entry = typeof id === 'string' ? catalog.get(id) : undefined;
      const result = entry?.params.safeParse(params ?? {});
      if (!result || result.success) return;
      if (issues.some((known) => known.path[0] === 'checks' && known.path[1] === i && known.path[2] === 'params')) return;
      for (const issue of result.error.issues) {
        const path = ['checks', i, 'params', ...issue.path];
        const message = `${issue.message} (${String(id)})`;
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
        if (!issues.some((known) => known.message === message && formatPath(known.path.map(String)) === formatPath(path.map(String)))) issues.push({ code: issue.code, path, message, ...(keys ? { keys } : {}) });
      }
    });
  }
  return {
    ok: false,
    problems: issues.map((issue) => {
      let path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      let message = issue.message;
      if (issue.code === 'unrecognized_keys' && issue.keys) {
        path = [...path, issue.keys[0] ?? ''];
        message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      const at = positionOf(doc, lineCounter, path);
      return { file, line: at.line, column: at.col, path: formatPath(path), message };
    }),
  };
}

/**
 * A stored (already validated) document back into its validated form. `policy` names the version
 * (`contractors@3`): a document stored by an older server may no longer fit this server's catalog.
 */
export function documentFromStored(raw: unknown, policy: string): PolicyDocument {
  const parsed = policyDocument.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ file: `${policy} (stored)`, line: 0, column: 0, path: formatPath(i.path.map((p) => (typeof p === 'number' ? p : String(p)))), message: i.message }));
    throw new PolicyInvalid(
      problems,
      `the stored policy ${policy} is no longer valid on this server: ${problems.map((p) => `${p.path ? `${p.path}: ` : ''}${p.message}`).join('; ')}. Roll back the group to a valid version, or apply a corrected document`,
    );
  }
  return parsed.data;
}

/** The policy the evaluator runs: a validated document placed in a slot (group) at a version. */
export function compilePolicy(doc: PolicyDocument, slot: string, version: number): Policy {
  const maxAge = doc.checks.find((c) => c.id === 'report.max_age')?.params as { max_age: number } | undefined;
  return {
    id: slot,
    version,
    max_age_s: maxAge?.max_age ?? DEFAULT_MAX_AGE_S,
    report_interval_s: doc.report_interval,
    on_unknown: doc.on_unknown,
    checks: doc.checks.map(
      (c): PolicyCheck => ({
        id: c.id,
        severity: c.severity,
        weight: c.weight,
        enforcement: c.enforcement,
        ...(c.grace !== undefined ? { grace_s: c.grace } : {}),
        params: c.params,
        ...(c.platforms ? { platforms: c.platforms } : {}),
        ...(c.on_unknown ? { on_unknown: c.on_unknown } : {}),
        remediation: c.remediation,
      }),
    ),
  };
}

function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The position of the deepest node on `path` that exists (a missing field points at its parent). */
function positionOf(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<string | number>): { line: number; col: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    const last = prefix[prefix.length - 1];
    const parent = depth === 0 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
    // Point at the key of a mapping entry (that is where a person looks), else at the node.
    if (depth > 0 && isMap(parent)) {
      const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(last));
      const keyNode = pair?.key;
      if (isScalar(keyNode) && keyNode.range) return lineCounter.linePos(keyNode.range[0]);
      continue;
    }
    const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]);
  }
  return { line: 1, col: 1 };
}

import { readFileSync } from 'node:fs';
import { compilePolicy, formatProblem, parsePolicySource } from './document.js';
import type { Policy } from './types.js';

/** The shipped default document (`backend/policies/default.yaml`), found from src/ and from dist/ alike. */
export const DEFAULT_POLICY_PATH = new URL('../../policies/default.yaml', import.meta.url);
export const DEFAULT_SLOT = 'default';

function load(): { source: string; raw: unknown; policy: Policy } {
  const source = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
  const parsed = parsePolicySource(source, 'default.yaml');
  if (!parsed.ok) throw new Error(`the shipped default policy is invalid: ${parsed.problems.map(formatProblem).join('; ')}`);
  return { source, raw: parsed.raw, policy: compilePolicy(parsed.document, DEFAULT_SLOT, 1) };
}

const loaded = load();

/** The shipped default document's text, stored as `default@1` on a fresh database. */
export const defaultPolicySource = loaded.source;
export const defaultPolicyRaw = loaded.raw;
/** The policy a fresh install decides with, until the security team writes its own. */
export const defaultPolicy: Policy = loaded.policy;

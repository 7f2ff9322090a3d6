import type { Platform, Posture, Severity } from '@postern/shared';
import type { z } from 'zod';

export type Enforcement = 'block' | 'warn_then_block' | 'notify';
/** What an enforced check that cannot be judged does to the verdict: make it `unknown`, or nothing. */
export type OnUnknown = 'unknown' | 'ignore';

/**
 * What a check concludes about one posture, before policy (grace, weight) is applied. `reason`
 * names the failing or unreadable state (`off`, `suspended`, `profile_off`, …) and selects the
 * remediation text; `unknown` is the reason of every unreadable state.
 */
export interface Finding {
  status: 'pass' | 'fail' | 'unknown';
  message: string;
  reason?: string;
}

/** Facts about the report that are not in the posture. */
export interface CheckContext {
  /** `iat` of the report the posture came in. */
  attestedAt: number;
  /** The agent's version (`swversion`), when known. */
  agentVersion: string | null;
}

/** Remediation texts of one platform: one per failing state, `default` for any other. */
export type RemediationTexts = Record<string, string> & { default: string };

/** A check of the catalog: a pure function from posture to finding, configured by parameters. */
export interface CatalogCheck<P = unknown> {
  id: string;
  /** One line: what the check judges. */
  summary: string;
  /** The section of the posture it reads (for the documentation and `unknown` messages). */
  section: keyof Posture | 'report' | 'agent';
  params: z.ZodType<P>;
  /** Failing states this check can report as `reason`, besides `unknown`. */
  reasons: readonly string[];
  evaluate(posture: Posture, params: P, context: CheckContext): Finding;
  /** Built-in remediation per platform and state; a policy may override any of it. */
  remediation: Record<Platform, RemediationTexts>;
}

export interface PolicyCheck {
  id: string;
  severity: Severity;
  weight: number;
  enforcement: Enforcement;
  /** Seconds a `warn_then_block` failure is tolerated before it blocks. */
  grace_s?: number;
  /** Parameters, already validated against the catalog's schema. */
  params: unknown;
  /** Only devices of these platforms are judged by this check; absent means all. */
  platforms?: Platform[];
  on_unknown?: OnUnknown;
  /** Policy overrides of the catalog's remediation: one text per platform, or one per state. */
  remediation: Partial<Record<Platform | 'default', string | Record<string, string>>>;
}

export interface Policy {
  /** The policy slot: a device group, or `default` for every group without its own. */
  id: string;
  version: number;
  /** A device whose newest valid report is older than this is `unknown` (`report.max_age`, default 15 minutes). */
  max_age_s: number;
  report_interval_s: number;
  on_unknown: OnUnknown;
  checks: PolicyCheck[];
}

/** Where the judge gets the policy of a device's group: the active one, kept current by the lifecycle's cache. */
export interface PolicySource {
  forGroup(group: string): Policy;
}

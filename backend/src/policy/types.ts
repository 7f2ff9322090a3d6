import type { Platform, Posture, Severity } from '@postern/shared';

export type Enforcement = 'block' | 'warn_then_block' | 'notify';

/** What a check concludes about one posture, before policy (grace, weight) is applied. */
export interface Finding {
  status: 'pass' | 'fail' | 'unknown';
  message: string;
}

/** A check of the catalog: a pure function from posture to finding, configured by parameters. */
export interface CatalogCheck<P> {
  id: string;
  evaluate(posture: Posture, params: P): Finding;
}

export interface PolicyCheck {
  id: string;
  severity: Severity;
  weight: number;
  enforcement: Enforcement;
  /** Seconds a `warn_then_block` failure is tolerated before it blocks. */
  grace_s?: number;
  params: unknown;
  remediation: Partial<Record<Platform | 'default', string>>;
}

export interface Policy {
  id: string;
  version: number;
  /** A device whose newest valid report is older than this is `unknown`. */
  max_age_s: number;
  report_interval_s: number;
  checks: PolicyCheck[];
}

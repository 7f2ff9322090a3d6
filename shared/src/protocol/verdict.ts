import { z } from 'zod';
import { numericDate } from './encoding.js';

export const verdict = z.enum(['compliant', 'grace', 'noncompliant', 'unknown', 'pending', 'revoked']);
export type Verdict = z.infer<typeof verdict>;

export const severity = z.enum(['critical', 'high', 'medium', 'low']);
export type Severity = z.infer<typeof severity>;

/** A break-glass exception waiving one check of one device until a time (set by an admin, audited). */
export const checkException = z.object({
  id: z.string(),
  until: numericDate,
  reason: z.string(),
  granted_by: z.string(),
});
export type CheckException = z.infer<typeof checkException>;

export const checkResult = z.object({
  id: z.string(),
  status: z.enum(['pass', 'fail', 'unknown']),
  severity,
  weight: z.number().int().nonnegative(),
  message: z.string(),
  remediation: z.string().nullable(),
  failing_since: numericDate.nullable(),
  /** Set while an exception waives this check: its status is still reported, but it does not decide the verdict. */
  exception: checkException.nullable().optional(),
});
export type CheckResult = z.infer<typeof checkResult>;

/** EAR status per draft-ietf-rats-ear-03. */
export const earStatus = z.enum(['affirming', 'warning', 'contraindicated', 'none']);
export type EarStatus = z.infer<typeof earStatus>;

export function earStatusOf(v: Verdict): EarStatus {
  switch (v) {
    case 'compliant':
      return 'affirming';
    case 'grace':
      return 'warning';
    case 'noncompliant':
    case 'revoked':
      return 'contraindicated';
    case 'unknown':
    case 'pending':
      return 'none';
  }
}

/** Verdicts a gateway allows by default; everything else (including unknown) is denied. */
export function isAllowed(v: Verdict): boolean {
  return v === 'compliant' || v === 'grace';
}

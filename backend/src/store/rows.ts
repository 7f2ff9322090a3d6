import { checkResult, platform as platformSchema, posture as postureSchema, verdict as verdictSchema, type CheckResult, type Platform, type Posture, type Verdict } from '@postern/shared';
import { z } from 'zod';

/**
 * Decoding of stored rows. Rows are our own writing, but a schema still stands between the
 * database and logic: a row written by an older server, or altered by hand, is read as absent
 * rather than trusted.
 */
const storedChecks = z.array(checkResult);

export function checksOf(row: { checks: unknown } | null | undefined): CheckResult[] {
  if (!row) return [];
  const parsed = storedChecks.safeParse(row.checks);
  return parsed.success ? parsed.data : [];
}

/** A stored posture, or null if it no longer matches the posture schema. */
export function postureOf(row: { posture: unknown } | null | undefined): Posture | null {
  if (!row) return null;
  const parsed = postureSchema.safeParse(row.posture);
  return parsed.success ? parsed.data : null;
}

/** A stored verdict; anything else reads as `unknown`, which fails closed. */
export function verdictOf(value: string): Verdict {
  const parsed = verdictSchema.safeParse(value);
  return parsed.success ? parsed.data : 'unknown';
}

/** A `devices.platform` value as a platform the evaluator knows, else null. */
export function enrolledPlatform(value: string | null | undefined): Platform | null {
  const parsed = platformSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export function toSeconds(date: Date | null): number | null {
  return date === null ? null : Math.floor(date.getTime() / 1000);
}

export function fromSeconds(seconds: number | null): Date | null {
  return seconds === null ? null : new Date(seconds * 1000);
}

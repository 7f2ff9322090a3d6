import { checkResult, type CheckResult } from '@postern/shared';
import { z } from 'zod';
import type { DevicePosture } from '../store/schema.js';

const storedChecks = z.array(checkResult);
/** Stored checks are our own writing, but a schema still stands between the database and logic. */
export function checksOf(row: Pick<DevicePosture, 'checks'> | null): CheckResult[] {
  if (!row) return [];
  const parsed = storedChecks.safeParse(row.checks);
  return parsed.success ? parsed.data : [];
}

export function toSeconds(date: Date | null): number | null {
  return date === null ? null : Math.floor(date.getTime() / 1000);
}

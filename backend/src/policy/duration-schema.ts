import { z } from 'zod';
import { parseDuration } from '../time/duration.js';

/** A duration in a policy document: seconds as an integer, or text such as `15m`, `7d`. Parsed to seconds. */
export const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 15m, 24h or 7d, or whole seconds, not "${value}"` });
    return z.NEVER;
  }
});

import { unstorableTextAt } from '@postern/shared';
import type { Context } from 'koa';
import type { z } from 'zod';
import { describeIssues } from './describe-issues.js';
import { HttpError } from './http-error.js';

/** Validates the query string against its schema; a mismatch is 400 `malformed` naming the parameters. */
export function readQuery<S extends z.ZodType>(ctx: Context, schema: S): z.infer<S> {
  const unstorable = unstorableTextAt(ctx.query);
  if (unstorable) throw new HttpError('malformed', `the query parameter ${unstorable} contains a NUL character or an unpaired UTF-16 surrogate: remove it`);
  const parsed = schema.safeParse(ctx.query);
  if (!parsed.success) throw new HttpError('malformed', `bad query parameters: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

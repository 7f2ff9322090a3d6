import { unstorableTextAt } from '@postern/shared';
import type { Context } from 'koa';
import type { z } from 'zod';
import { describeIssues } from './describe-issues.js';
import { HttpError } from './http-error.js';

const DEFAULT_LIMIT = 64 * 1024;

/** Reads a JSON body of at most 64 KiB (or `limit` bytes) and validates it; every failure is a 4xx that says why. */
export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, limit = DEFAULT_LIMIT): Promise<z.infer<S>> {
  const LIMIT = limit;
  if (!ctx.is('application/json')) throw new HttpError('unsupported_media_type', 'send the body as application/json');
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > LIMIT) throw new HttpError('too_large', `the body is larger than ${LIMIT} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMIT) throw new HttpError('too_large', `the body is larger than ${LIMIT} bytes`);
    chunks.push(chunk);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError('malformed', 'the body is not valid JSON');
  }
  // Checked for every body, whatever its schema: such text can be neither stored nor shown.
  const unstorable = unstorableTextAt(json);
  if (unstorable) throw new HttpError('malformed', `the body's ${unstorable} contains a NUL character or an unpaired UTF-16 surrogate: remove it`);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new HttpError('malformed', `the body does not match the API: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** As readJson, for a body a client may leave out (approve, revoke): no body reads as `{}`. */
export async function readOptionalJson<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.infer<S>> {
  const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
  if (hasBody) return readJson(ctx, schema);
  const parsed = schema.safeParse({});
  if (!parsed.success) throw new HttpError('malformed', `a body is required here: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

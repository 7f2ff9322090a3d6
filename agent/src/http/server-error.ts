import { httpError, problemDetails } from '@postern/shared';

/** A refusal in a Postern server's own words: the stable `code` to decide by, and its sentence. */
export interface ServerError {
  code: string;
  message: string;
}

/**
 * The Postern error in an HTTP error body: RFC 9457 problem details (`detail` is the
 * sentence, `code` the decision), or the `{"error":{"code","message"}}` of servers not yet
 * upgraded. Null when the body is neither: a proxy's page, an empty body, another service.
 * @see https://www.rfc-editor.org/rfc/rfc9457#section-3
 */
export function readServerError(body: unknown): ServerError | null {
  const problem = problemDetails.safeParse(body);
  if (problem.success) return { code: problem.data.code, message: problem.data.detail };
  const legacy = httpError.safeParse(body);
  if (legacy.success) return { code: legacy.data.error.code, message: legacy.data.error.message };
  return null;
}

/**
 * How long `Retry-After` asks to wait, in milliseconds: delay-seconds or an HTTP-date;
 * undefined when absent or unreadable.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export function retryAfterMs(headers: Headers, now: () => number = Date.now): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

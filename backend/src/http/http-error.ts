import { ERROR_STATUS, ERROR_TITLE, problemType, type ErrorCode, type ProblemDetails } from '@postern/shared';

export interface HttpErrorOptions {
  /** Response headers, e.g. `www-authenticate` or `retry-after`. */
  headers?: Record<string, string>;
  /** Extra members of the problem details, e.g. `problems` of an invalid policy. */
  extra?: Record<string, unknown>;
}

/**
 * An error that maps to one HTTP response: a stable code, whose status comes from the shared table,
 * and a sentence for a person (the problem's `detail`).
 */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    detail: string,
    options: HttpErrorOptions = {},
  ) {
    super(detail);
    this.status = ERROR_STATUS[code];
    // `rate_limited` always says when to come back, wherever it is thrown.
    this.headers = code === 'rate_limited' && !options.headers?.['retry-after'] ? { ...options.headers, 'retry-after': '1' } : { ...options.headers };
    this.extra = options.extra ?? {};
  }

  /** The RFC 9457 body: the standard members first, so extra members cannot replace them. */
  toProblem(): ProblemDetails {
    return { ...this.extra, type: problemType(this.code), title: ERROR_TITLE[this.code], status: this.status, detail: this.message, code: this.code };
  }
}

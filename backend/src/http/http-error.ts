/** An error that maps to one HTTP response: a status, a stable code and a sentence for a person. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra members of the error object, e.g. `problems` of an invalid policy. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

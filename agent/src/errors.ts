/**
 * Every failure the agent reports to a person is an `AgentError`: a stable `code`
 * callers can branch on, and a message that says what went wrong and what to do.
 * The CLI prints the message as one line; it never contains secrets.
 */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The state directory or one of its files cannot be read or written. */
export class StateError extends AgentError {}

/** The device key cannot be created, read or used. */
export class KeyStoreError extends AgentError {}

/** Enrollment failed: the server refused, could not be reached, or the device is already enrolled. */
export class EnrollmentError extends AgentError {}

/** The agent stream cannot go on: the device was revoked, or a one-shot report was refused. */
export class StreamError extends AgentError {}

/** A short, single-line reason from any thrown value, for logs. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const text = err.message || err.name;
    return (code && !text.includes(code) ? `${code}: ${text}` : text).split('\n')[0] ?? text;
  }
  return String(err);
}

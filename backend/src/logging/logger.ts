import { pino, stdSerializers, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr (or `destination`, for tests); stdout is kept for the one start-up line and command output. */
export function createLogger(level: string = process.env.POSTERN_LOG_LEVEL ?? 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level,
      base: { service: 'postern-server' },
      // Never log credentials, even by accident through a request object.
      redact: { paths: ['req.headers.authorization', 'req.headers.dpop', '*.token', '*.enrollment_token', '*.request', 'token'], censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    destination,
  );
}

// Members of PostgreSQL and PGlite errors that carry the statement's values: `params` (PGlite),
// `detail` ("Key (kid)=(…) already exists."), `where` ("… parameter $2 = '…'"), `internalQuery`, `hint`.
const DATABASE_KEPT = ['code', 'severity', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine', 'query'] as const;

/**
 * pino's error serializer, but a database error keeps only what locates the fault (SQLSTATE,
 * table, constraint, the statement with its $n placeholders) and never the values bound to it:
 * those are public keys, hashes and tokens. Quoted values in its message are cut too
 * (`invalid input syntax for type uuid: "…"`).
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (!isDatabaseError(error)) {
    const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
    if (error.cause === undefined) return serialized;
    serialized.cause = serializeError(error.cause);
    // pino folds the causes' messages into this one's message and stack: cut their values there too.
    if (causedByDatabase(error)) {
      if (typeof serialized.message === 'string') serialized.message = withoutValues(serialized.message);
      if (typeof serialized.stack === 'string') serialized.stack = withoutValues(serialized.stack);
    }
    return serialized;
  }
  const source = error as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: error.constructor.name, message: withoutValues(error.message) };
  for (const key of DATABASE_KEPT) if (source[key] !== undefined) out[key] = source[key];
  if (error.stack) out.stack = error.stack.replace(error.message, String(out.message));
  return out;
}

function causedByDatabase(error: Error): boolean {
  for (let cause: unknown = error.cause, depth = 0; cause instanceof Error && depth < 10; cause = cause.cause, depth++) if (isDatabaseError(cause)) return true;
  return false;
}

function isDatabaseError(error: Error): boolean {
  const e = error as Error & { severity?: unknown; code?: unknown };
  return typeof e.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
}

/** A double-quoted value after a colon is data; a quoted name elsewhere (a constraint) is kept. */
function withoutValues(message: string): string {
  return message.replace(/: "(?:[^"\\]|\\.)*"/g, ': "[redacted]"');
}

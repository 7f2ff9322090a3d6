import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr; stdout is kept for the one start-up line and command output. */
export function createLogger(level: string = process.env.POSTERN_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'postern-server' },
      // Never log credentials, even by accident through a request object.
      redact: { paths: ['req.headers.authorization', 'req.headers.dpop', '*.token', '*.enrollment_token', '*.request', 'token'], censor: '[redacted]' },
    },
    pino.destination(2),
  );
}

/**
 * One concise line per event. The run loop is read by people (and by journald,
 * which adds its own metadata), so a timestamp and a sentence are enough.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function consoleLogger(options: { timestamps?: boolean } = {}): Logger {
  const stamp = options.timestamps === false ? () => '' : () => `${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} `;
  return {
    info: (m) => process.stdout.write(`${stamp()}${m}\n`),
    warn: (m) => process.stdout.write(`${stamp()}warning: ${m}\n`),
    error: (m) => process.stderr.write(`${stamp()}error: ${m}\n`),
  };
}

/** A logger that keeps lines in memory, for tests. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
}

import type { ExecResult, ProbeContext } from './probe.js';

/** What every section looks like when its facts could not be read. */
export interface ErrorSection {
  status: 'error';
  collected_at: number;
  error: string;
}

/** The schema caps text at 512 characters; reasons stay short anyway. */
const MAX_REASON = 200;

export function collectedAt(ctx: ProbeContext): number {
  return Math.floor(ctx.now() / 1000);
}

export function errorSection(ctx: ProbeContext, reason: string): ErrorSection {
  const error = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
  return { status: 'error', collected_at: collectedAt(ctx), error };
}

export function okSection<T extends object>(ctx: ProbeContext, facts: T): { status: 'ok'; collected_at: number } & T {
  return { status: 'ok', collected_at: collectedAt(ctx), ...facts };
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ''
  );
}

const PERMISSION_DENIED =
  /permission denied|operation not permitted|you must be root|need to be root|must be run as root|are you root|access denied|access is denied/i;

/** Tools say "not root" in many ways; all of them mean we learned nothing. */
export function isPermissionDenied(result: ExecResult): boolean {
  return PERMISSION_DENIED.test(result.stderr) || (result.code !== 0 && PERMISSION_DENIED.test(result.stdout));
}

/** A short reason for a command that did not give usable output. */
export function execFailureReason(tool: string, result: ExecResult): string {
  switch (result.failure) {
    case 'not_found':
      return `${tool} not found`;
    case 'timeout':
      return `${tool} timed out`;
    case 'spawn_error':
      return `${tool} could not be started: ${firstLine(result.stderr)}`;
    default: {
      const detail = firstLine(result.stderr) || firstLine(result.stdout);
      const status = result.code === null ? 'was killed' : `exited with code ${result.code}`;
      return detail ? `${tool} ${status}: ${detail}` : `${tool} ${status}`;
    }
  }
}

/**
 * Runs a section probe so that a bug in a parser becomes an error section for that
 * section rather than a failed collection.
 */
export async function guarded<S>(ctx: ProbeContext, probe: (ctx: ProbeContext) => Promise<S>): Promise<S | ErrorSection> {
  try {
    return await probe(ctx);
  } catch (error) {
    return errorSection(ctx, `internal error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The reason given when a probe needs more privilege than the agent has. */
export function needsPrivilege(ctx: ProbeContext, what: string): string {
  return ctx.platform === 'win32'
    ? `permission denied: run the agent as Administrator (the installed service runs as SYSTEM) to read ${what}`
    : `permission denied: run the agent as root to read ${what}`;
}

/** True when a command ran to completion with exit code 0. */
export function succeeded(result: ExecResult): boolean {
  return !result.failure && result.code === 0;
}

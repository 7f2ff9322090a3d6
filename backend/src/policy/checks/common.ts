import type { Finding } from '../types.js';

/** A section the agent could not read or did not send: the check cannot judge it. */
export function unreadable(what: string, section: { status: 'ok' } | { status: 'error'; error: string } | undefined): Finding | null {
  if (section === undefined) return { status: 'unknown', reason: 'unknown', message: `${what} was not reported by the agent (not collected on this platform, or the agent is too old)` };
  if (section.status === 'error') return { status: 'unknown', reason: 'unknown', message: `${what} could not be read: ${section.error}` };
  return null;
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The unknown-state remediation every check shares, per platform. */
export const RUN_PRIVILEGED = {
  linux: 'Run the agent as root (the packaged systemd service does) so this can be checked, and update the agent if it is older than the server.',
  darwin: 'Run the agent as the installed launchd daemon (root) so this can be checked, and update the agent if it is older than the server.',
  win32: 'Run the agent as the installed Windows service (LocalSystem) so this can be checked, and update the agent if it is older than the server.',
} as const;

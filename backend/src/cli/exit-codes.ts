/**
 * One rule for every `postern-server` command, so scripts can branch on the status. 130 and
 * the like (a signal) come from the shell, not from here.
 */
export const EXIT = {
  /** It was done. */
  done: 0,
  /** It failed or the server refused it (the message says why), or what was checked is bad (`policy validate`, `audit verify`). */
  failed: 1,
  /** The command line is wrong: an unknown command or flag, a missing argument, a value out of bounds. Nothing was sent. */
  usage: 2,
  /** No server to ask: none found for the data directory, it cannot be reached, or what answered is not a Postern server. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_HELP = `Exit status (every command):
  0  done
  1  failed or refused by the server (the message says why); policy validate: invalid; audit verify: altered
  2  usage error: unknown command or flag, missing argument, a value out of its bounds (nothing was sent)
  3  cannot reach the server: none found for the data directory, not answering, or not a Postern server`;

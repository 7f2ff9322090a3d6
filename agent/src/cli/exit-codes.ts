/** Process exit codes of `postern-agent`. */
export const ExitCode = {
  ok: 0,
  /** Anything went wrong; the message on stderr says what. */
  error: 1,
  /**
   * The device is revoked or its enrollment expired. Service managers should not
   * restart the agent on this code (systemd: RestartPreventExitStatus=3).
   */
  revoked: 3,
  /** Interrupted a second time while stopping. */
  interrupted: 130,
} as const;

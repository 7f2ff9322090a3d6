/** Where a key rotation can be cut short, in order. */
export const ROTATION_STEPS = ['before-send', 'after-start', 'before-confirm', 'after-confirm', 'after-state'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * `POSTERN_AGENT_FAILPOINT=rotation:<step>` kills the agent with SIGKILL at that step of a key
 * rotation: how the end-to-end tests prove that an agent dying anywhere in a rotation keeps its
 * device. Unset, it does nothing.
 */
export function failpoint(step: RotationStep, env: NodeJS.ProcessEnv = process.env): void {
  if (env.POSTERN_AGENT_FAILPOINT === `rotation:${step}`) process.kill(process.pid, 'SIGKILL');
}

/**
 * When to try a SET again after `attempts` failed pushes: exponential from one second, capped at
 * `maxS`, with jitter over the upper half so receivers coming back are not hit by every
 * transmitter at once. Stored in the outbox row, so the schedule survives restarts.
 */
export function retryDelayMs(attempts: number, maxS: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxS * 1000, 1000 * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Realistic postures, as the agent's collectors report them, one fake per platform
 * (Teleport's testenv: a test gets a believable device in one line).
 *
 * @example
 * ```ts
 * fakePosture();                                                  // a compliant Linux laptop
 * fakePosture({ platform: 'darwin', failing: ['firewall'] });     // a Mac with its firewall off
 * withScreenLock(fakePosture({ platform: 'win32' }), 5);          // plus a 5-minute screen lock
 * ```
 */
import type { Platform, Posture } from '@postern/shared';
import { darwinPosture } from './darwin.js';
import { linuxPosture } from './linux.js';
import { withPendingSecurity } from './modifiers.js';
import type { FakePostureOptions, PlatformPostureInput } from './options.js';
import { win32Posture } from './win32.js';

export { collectedAt, withPendingSecurity, withScreenLock } from './modifiers.js';
export type { FakePostureOptions, PostureFailure } from './options.js';

const byPlatform: Record<Platform, (input: PlatformPostureInput) => Posture> = { linux: linuxPosture, darwin: darwinPosture, win32: win32Posture };

/** Security updates a device failing `patches` has waiting. */
const PENDING_SECURITY_WHEN_FAILING = 4;

export function fakePosture({ platform = 'linux', now = Math.floor(Date.now() / 1000), failing = [] }: FakePostureOptions = {}): Posture {
  const failures = new Set(failing);
  const posture = byPlatform[platform]({ now, failing: failures });
  return failures.has('patches') ? withPendingSecurity(posture, PENDING_SECURITY_WHEN_FAILING) : posture;
}

// The devices most tests need, by name.
export const healthyLinuxPosture = (now?: number): Posture => fakePosture({ platform: 'linux', now });
export const unencryptedLinuxPosture = (now?: number): Posture => fakePosture({ platform: 'linux', now, failing: ['disk_encryption'] });
export const healthyMacPosture = (now?: number): Posture => fakePosture({ platform: 'darwin', now });
export const windowsPostureWithPublicFirewallOff = (now?: number): Posture => fakePosture({ platform: 'win32', now, failing: ['firewall'] });

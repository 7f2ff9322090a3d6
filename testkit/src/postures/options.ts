import type { Platform } from '@postern/shared';

/** A check a fake device fails, the way a real device of its platform would report it. */
export type PostureFailure = 'disk_encryption' | 'firewall' | 'patches';

export interface FakePostureOptions {
  /** Defaults to a Linux laptop. */
  platform?: Platform;
  /** `collected_at` of every section, in seconds; defaults to now. */
  now?: number;
  /** Checks to fail; none by default, so the posture is compliant under the default policy. */
  failing?: readonly PostureFailure[];
}

/** What a per-platform fake is given: every option decided. */
export interface PlatformPostureInput {
  now: number;
  failing: ReadonlySet<PostureFailure>;
}

import type { Posture } from '@postern/shared';
import type { ProbeContext } from './probe.js';

export type SectionName = keyof Posture;
export type SectionOf<K extends SectionName> = NonNullable<Posture[K]>;

/** How one section is read on one platform, and how often. */
export interface SectionProbe<K extends SectionName> {
  read(ctx: ProbeContext): Promise<SectionOf<K>>;
  /** A reading is reused this long; 0: read again at every collection. */
  ttlMs: number;
  /**
   * Reading goes to the network and may take minutes (pending updates): once there is
   * a reading, collections get it while a newer one is taken in the background.
   */
  slow?: boolean;
}

export type PlatformProbes = { [K in SectionName]-?: SectionProbe<K> };

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

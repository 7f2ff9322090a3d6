import type { Volume } from '@postern/shared';

/** The system volume: encrypted with `method`, or when `clear`, as the collectors report an unencrypted one. */
export function systemVolume(mount: string, method: string, clear: boolean, whenClear: Partial<Volume> = {}): Volume {
  return clear ? { mount, encrypted: false, method: null, state: 'off', system: true, ...whenClear } : { mount, encrypted: true, method, state: 'on', system: true };
}

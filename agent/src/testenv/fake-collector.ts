import type { Posture } from '@postern/shared';
import type { Collector } from '../collectors/collect.js';
import { fakePosture } from '@postern/testkit/postures';

/** A collector whose posture a test sets; `collect` counts how often it was asked. */
export class FakeCollector implements Collector {
  calls = 0;
  constructor(public posture: Posture = fakePosture()) {}

  async collect(): Promise<Posture> {
    this.calls += 1;
    return structuredClone(this.posture);
  }
}

/** Same comparison as the real collectors: everything but `collected_at`. */
export function fakePostureChanged(a: Posture, b: Posture): boolean {
  const strip = (p: Posture) =>
    JSON.stringify(p, (key, value: unknown) => (key === 'collected_at' ? undefined : value));
  return strip(a) !== strip(b);
}

import { describe, expect, it } from 'vitest';
import { platform as platformSchema, posture as postureSchema, type Platform } from '@postern/shared';
import { fakePosture, type PostureFailure } from './index.js';

const platforms: readonly Platform[] = platformSchema.options;
const failures: readonly PostureFailure[] = ['disk_encryption', 'firewall', 'patches'];

describe('fake postures', () => {
  it.each(platforms)('gives a %s device a posture the wire schema accepts, compliant or failing everything', (platform) => {
    const compliant = fakePosture({ platform });
    expect(postureSchema.parse(compliant)).toEqual(compliant);
    expect(compliant.os).toMatchObject({ status: 'ok', platform });
    const failing = fakePosture({ platform, failing: failures });
    expect(postureSchema.parse(failing)).toEqual(failing);
  });

  it.each(platforms.flatMap((platform) => failures.map((failure) => [platform, failure] as const)))('on %s, failing %s changes that section only', (platform, failure) => {
    const compliant = fakePosture({ platform, now: 1_700_000_000 });
    const failing = fakePosture({ platform, now: 1_700_000_000, failing: [failure] });
    expect(failing[failure]).not.toEqual(compliant[failure]);
    expect({ ...failing, [failure]: compliant[failure] }).toEqual(compliant);
  });
});

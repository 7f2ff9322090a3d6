import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours, days and weeks', () => {
    expect([parseDuration('90s'), parseDuration('10m'), parseDuration('24h'), parseDuration('30d'), parseDuration('2w')]).toEqual([90, 600, 86400, 2592000, 1209600]);
  });

  it('explains what a duration looks like when given something else', () => {
    expect(() => parseDuration('tomorrow')).toThrow(/10m, 24h or 30d/);
  });
});

import { describe, expect, it } from 'vitest';
import { wallClockToEpochSeconds } from './wall-clock.js';

const t = { year: 2024, month: 9, day: 13, hour: 8, minute: 1, second: 24 };
const utc = Date.UTC(2024, 8, 13, 8, 1, 24) / 1000;

describe('wallClockToEpochSeconds', () => {
  it('reads a UTC wall clock as UTC', () => {
    expect(wallClockToEpochSeconds(t, 'UTC')).toBe(utc);
  });

  it('applies summer time in Europe/Berlin (UTC+2)', () => {
    expect(wallClockToEpochSeconds(t, 'Europe/Berlin')).toBe(utc - 2 * 3600);
  });

  it('applies winter time in America/New_York (UTC-5)', () => {
    expect(wallClockToEpochSeconds({ ...t, month: 1 }, 'America/New_York')).toBe(Date.UTC(2024, 0, 13, 13, 1, 24) / 1000);
  });

  it('returns null for a zone this runtime does not know', () => {
    expect(wallClockToEpochSeconds(t, 'Mars/Olympus_Mons')).toBeNull();
  });
});

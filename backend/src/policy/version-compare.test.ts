import { describe, expect, it } from 'vitest';
import { compareVersions } from './version-compare.js';

describe('compareVersions', () => {
  it('orders dotted versions numerically, not as text', () => {
    expect(compareVersions('10.13', '10.9')).toBe(1);
    expect(compareVersions('22.04', '22.4')).toBe(0);
    expect(compareVersions('14', '14.0.0')).toBe(0);
    expect(compareVersions('13.3.1 (a)', '13.3.1')).toBe(0);
    expect(compareVersions('9.4', '12')).toBe(-1);
  });

  it('says it cannot compare a version without numbers', () => {
    expect(compareVersions('rolling', '1')).toBeNull();
  });
});

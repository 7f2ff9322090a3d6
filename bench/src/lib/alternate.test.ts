import { describe, expect, it } from 'vitest';
import { alternate, pairRatios } from './alternate.js';

describe('pairRatios', () => {
  it('divides each target by the mean of the baselines on either side', () => {
    const { ratios } = pairRatios([100, 300, 200], [100, 125]);
    expect(ratios).toEqual([0.5, 0.5]);
  });

  it('keeps the median ratio (the lower middle one of an even count) and the baseline it was divided by', () => {
    expect(pairRatios([10, 10, 10, 10], [7, 5, 6])).toMatchObject({ median: 2, medianBaseline: 10 });
    expect(pairRatios([10, 10, 20, 20, 10], [4, 9, 20, 6])).toMatchObject({ ratios: [0.4, 0.6, 1, 0.4], median: 3, medianBaseline: 15 });
  });

  it('refuses windows that did not alternate', () => {
    expect(() => pairRatios([1, 2], [1, 2])).toThrow(/one baseline more than targets/);
    expect(() => pairRatios([1], [])).toThrow(/one baseline more than targets/);
  });
});

describe('alternate', () => {
  it('measures B T B T B in that order, starting from a baseline measured before when given', async () => {
    const order: string[] = [];
    let b = 0;
    let t = 0;
    const result = await alternate(
      2,
      {
        baseline: async () => (order.push(`B${++b}`), 100 * b),
        target: async () => (order.push(`T${++t}`), 60 * t),
      },
      { baseline: (x) => x, target: (x) => x },
      0,
    );
    expect(order).toEqual(['T1', 'B1', 'T2', 'B2']);
    expect(result.baselines).toEqual([0, 100, 200]);
    expect(result.ratios).toEqual([60 / 50, 120 / 150]);
    expect(result.median).toBe(1);
  });

  it('measures one uncounted target window first when asked to warm up', async () => {
    const order: string[] = [];
    let b = 0;
    let t = 0;
    const result = await alternate(
      1,
      { baseline: async () => (order.push(`B${++b}`), 100), target: async () => (order.push(`T${++t}`), 10 * t), warmUp: true },
      { baseline: (x) => x, target: (x) => x },
    );
    expect(order).toEqual(['T1', 'B1', 'T2', 'B2']);
    expect(result.warmUp).toBe(10);
    expect(result.targets).toEqual([20]);
    expect(result.ratios).toEqual([0.2]);
  });
});

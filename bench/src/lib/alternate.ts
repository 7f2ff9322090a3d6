/**
 * A target measured in windows alternated with its baseline's, B T B T … T B. The machines
 * the bench runs on drift by more than a goal's margin over the minutes of a run (the one-core
 * verify rate moved 6,174 → 7,853/s between two runs an hour apart here), so a baseline
 * measured once, minutes away from the figure it divides, carries that drift into the ratio.
 * Each target window is divided by the mean of the baseline windows on either side of it; the
 * figure kept is the median of those ratios, and every ratio is reported beside it. With
 * `warmUp`, one target window runs first and is not counted, so no counted window pays for the
 * JIT's first optimisation of a route under full load. (In runs C and D the first window cost
 * 7–35 % more server CPU per request than the two after it; in run E, with this, the first
 * counted window was still the slowest of two deployments out of three: the rest of that is the
 * machine's drift, which the alternation is for.)
 */

export interface Alternated<B, T> {
  /** pairs + 1 baseline windows, in the order measured. */
  baselines: B[];
  /** `pairs` target windows; target i ran between baselines i and i + 1. */
  targets: T[];
  /** Target i's rate ÷ the mean of baselines i and i + 1. */
  ratios: number[];
  /** The index of the target whose ratio is the median (the lower middle one for an even count). */
  median: number;
  /** The baseline rate target `median` was divided by. */
  medianBaseline: number;
  /** The uncounted target window measured first, with `warmUp`. */
  warmUp: T | null;
}

/** The ratios and the median of windows already measured (the arithmetic of `alternate`, apart for its test). */
export function pairRatios(baselineRates: readonly number[], targetRates: readonly number[]): { ratios: number[]; median: number; medianBaseline: number } {
  if (targetRates.length === 0 || baselineRates.length !== targetRates.length + 1) {
    throw new Error(`alternated windows need one baseline more than targets (got ${baselineRates.length} and ${targetRates.length})`);
  }
  const around = targetRates.map((_, i) => ((baselineRates[i] as number) + (baselineRates[i + 1] as number)) / 2);
  const ratios = targetRates.map((rate, i) => rate / (around[i] as number));
  const order = ratios.map((_, i) => i).sort((a, b) => (ratios[a] as number) - (ratios[b] as number));
  const median = order[Math.floor((order.length - 1) / 2)] as number;
  return { ratios, median, medianBaseline: around[median] as number };
}

/**
 * Measures B T B T … T B with `pairs` targets, after one uncounted T when `warmUp`. `first`,
 * when given, is a baseline window measured just before (it stands for the first B).
 */
export async function alternate<B, T>(
  pairs: number,
  measure: { baseline: () => Promise<B>; target: () => Promise<T>; warmUp?: boolean },
  rate: { baseline: (b: B) => number; target: (t: T) => number },
  first?: B,
): Promise<Alternated<B, T>> {
  const warmUp = measure.warmUp ? await measure.target() : null;
  const baselines: B[] = [first ?? (await measure.baseline())];
  const targets: T[] = [];
  for (let i = 0; i < pairs; i++) {
    targets.push(await measure.target());
    baselines.push(await measure.baseline());
  }
  return { baselines, targets, warmUp, ...pairRatios(baselines.map(rate.baseline), targets.map(rate.target)) };
}

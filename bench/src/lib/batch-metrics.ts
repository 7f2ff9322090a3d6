/**
 * Mean size of the server's batched database round trips over a window, from its
 * `postern_batch_size` histogram on /metrics read before and after.
 */
export type BatchCounts = Record<string, { sum: number; count: number }>;

export async function readBatchCounts(serverUrl: string): Promise<BatchCounts> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const counts: BatchCounts = {};
  for (const match of text.matchAll(/^postern_batch_size_(sum|count)\{batch="(\w+)"\} (\S+)$/gm)) {
    const [, field, batch, value] = match as unknown as [string, 'sum' | 'count', string, string];
    const entry = (counts[batch] ??= { sum: 0, count: 0 });
    entry[field] = Number(value);
  }
  return counts;
}

/** Requests per round trip in the window, by batch; batches that did not run are left out. */
export function meanBatchSizes(before: BatchCounts, after: BatchCounts): Record<string, number> {
  const means: Record<string, number> = {};
  for (const [batch, end] of Object.entries(after)) {
    const start = before[batch] ?? { sum: 0, count: 0 };
    if (end.count > start.count) means[batch] = (end.sum - start.sum) / (end.count - start.count);
  }
  return means;
}

export function describeBatchSizes(means: Record<string, number> | null): string {
  if (!means || Object.keys(means).length === 0) return '–';
  return Object.entries(means)
    .map(([batch, mean]) => `${batch} ${mean.toFixed(1)}`)
    .join(', ');
}

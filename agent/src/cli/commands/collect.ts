import { printJson } from '../context.js';
import { summarizePosture } from '../format-posture.js';

export async function collectCommand(opts: { json?: boolean }): Promise<void> {
  const { createCollector } = await import('../../collectors/collect.js');
  const posture = await createCollector().collect();
  if (opts.json) {
    printJson(posture);
    return;
  }
  process.stdout.write(`${summarizePosture(posture).join('\n')}\n`);
}

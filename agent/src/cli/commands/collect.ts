import { readFile } from 'node:fs/promises';
import type { Posture } from '@postern/shared';
import { AgentError } from '../../errors.js';
import { printJson } from '../context.js';
import { summarizePosture } from '../format-posture.js';

export async function collectCommand(opts: { json?: boolean; replay?: string }): Promise<void> {
  const posture = opts.replay ? await replay(opts.replay) : await collectLive();
  if (opts.json) {
    printJson(posture);
    return;
  }
  process.stdout.write(`${summarizePosture(posture).join('\n')}\n`);
}

async function collectLive(): Promise<Posture> {
  const { createCollector } = await import('../../collectors/collect.js');
  return createCollector().collect();
}

/** The posture a diagnostic bundle's recorded answers give, computed by this agent's probes. */
async function replay(path: string): Promise<Posture> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AgentError('replay_read', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const [{ parseBundle }, { replayBundle }] = await Promise.all([import('../../diag/bundle.js'), import('../../diag/diagnose.js')]);
  let bundle;
  try {
    bundle = parseBundle(text);
  } catch (err) {
    throw new AgentError('replay_format', `${path}: ${(err as Error).message}`, { cause: err });
  }
  return replayBundle(bundle);
}

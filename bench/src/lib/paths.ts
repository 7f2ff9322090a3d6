import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/dist/lib/paths.js → the repository root. */
export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const benchRoot = join(repoRoot, 'bench');
export const resultsDir = join(benchRoot, 'results');
/** The compiled load-generator entry point, forked once per generator process. */
export const workerEntry = join(benchRoot, 'dist', 'worker.js');
export const agentBin = join(repoRoot, 'agent/bin/postern-agent.js');

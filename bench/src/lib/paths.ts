import { join } from 'node:path';
import { repoRoot } from '@postern/testkit/paths';

export const benchRoot = join(repoRoot, 'bench');
export const resultsDir = join(benchRoot, 'results');
/** The compiled load-generator entry point, forked once per generator process. */
export const workerEntry = join(benchRoot, 'dist', 'worker.js');

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: two levels up from both src/paths.ts and dist/paths.js. The bins are found
 * here rather than through package dependencies so that backend and agent tests can depend on
 * the testkit without a dependency cycle; the root `tsc -b` builds them before any test runs.
 */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const serverBin = join(repoRoot, 'backend/bin/postern-server.js');
export const agentBin = join(repoRoot, 'agent/bin/postern-agent.js');

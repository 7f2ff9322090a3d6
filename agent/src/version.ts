import { readFileSync } from 'node:fs';

/**
 * The agent's version, from agent/package.json. Read at run time so the version
 * in evidence (`swversion`) and enrollment (`agent_version`) is the one shipped.
 * The file sits one level above both src/ (tests) and dist/ (the built CLI).
 */
export const AGENT_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

// Entry of the single-file agent (bundled by build/bundle.mjs, run by Node's single executable
// application support, which runs one CommonJS script). The same V8 flags as bin/postern-agent.js,
// set before the CLI is loaded: the agent idles for hours between short bursts of work.
const { setFlagsFromString } = require('node:v8');

if (!process.env.POSTERN_AGENT_NO_V8_FLAGS) {
  for (const flag of ['--optimize-for-size', '--no-opt', '--no-sparkplug', '--semi-space-growth-factor=1']) setFlagsFromString(flag);
}
require('../src/cli/main.ts');

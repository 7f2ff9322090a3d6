// Entry of the single-file agent (bundled by build/bundle.mjs, run by Node's single executable
// application support, which runs one CommonJS script). The same V8 flags as bin/postern-agent.js,
// set before the CLI is loaded: the agent idles for hours between short bursts of work. A Node 20
// single executable hands every command-line argument to the agent and reads NODE_OPTIONS, which
// takes only Node's short list of V8 flags (--max-semi-space-size, --max-old-space-size, --jitless,
// ...; not --optimize-for-size): these flags are set here, at run time, where any is allowed.
const { setFlagsFromString } = require('node:v8');

if (!process.env.POSTERN_AGENT_NO_V8_FLAGS) {
  for (const flag of ['--optimize-for-size', '--no-opt', '--no-sparkplug', '--semi-space-growth-factor=1', '--bytecode-old-age=1']) setFlagsFromString(flag);
}
require('../src/cli/main.ts');

#!/usr/bin/env node
// The agent idles for hours between short bursts of work, so it trades V8's compilers
// (Sparkplug, TurboFan) and large young generation for memory: about 15 MB less
// resident. These flags are safe to set at run time; --jitless and --lite-mode are not
// (WebAssembly, which fetch uses, aborts the process under them).
import { setFlagsFromString } from 'node:v8';

if (!process.env.POSTERN_AGENT_NO_V8_FLAGS) {
  for (const flag of ['--optimize-for-size', '--no-opt', '--no-sparkplug', '--semi-space-growth-factor=1']) setFlagsFromString(flag);
}
await import('../dist/cli/main.js');

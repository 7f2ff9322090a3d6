#!/usr/bin/env node
// The agent idles for hours between short bursts of work, so it trades V8's compilers
// (Sparkplug, TurboFan) and large young generation for memory: about 15 MB less
// resident. The young generation stays at its initial 1 MB semi-spaces (a growth factor
// of 1: 2 MB less at the start-up peak), and bytecode of a function not run since the last
// full collection is dropped (compiled again when next run: 0.6 MB less while idle).
// These flags are safe to set at run time, as V8 reads them when it uses them; flags read
// once when the heap is made (--max-semi-space-size) have no effect here, and --jitless and
// --lite-mode are not safe (WebAssembly, which fetch uses, aborts the process under them).
import { setFlagsFromString } from 'node:v8';

if (!process.env.POSTERN_AGENT_NO_V8_FLAGS) {
  for (const flag of ['--optimize-for-size', '--no-opt', '--no-sparkplug', '--semi-space-growth-factor=1', '--bytecode-old-age=1']) setFlagsFromString(flag);
}
await import('../dist/cli/main.js');

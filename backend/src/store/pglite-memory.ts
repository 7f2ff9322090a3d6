import { setFlagsFromString } from 'node:v8';

/** How much of its WASM memory the embedded database may fill with caches. */
export interface PgliteMemory {
  /** POSTERN_PGLITE_SHARED_BUFFERS_MB: PostgreSQL's page cache inside PGlite. */
  sharedBuffersMB: number;
}

/**
 * PGlite starts PostgreSQL with the stock shared_buffers of 128 MB, which it fills at start, and
 * WASM memory never shrinks. The database of a thousand devices is a few megabytes; its files
 * are read through the operating system's page cache, which is not this process's memory, so a
 * small page cache costs a read system call on a miss, not a disk read.
 */
export const DEFAULT_PGLITE_MEMORY: PgliteMemory = { sharedBuffersMB: 16 };

/**
 * The settings PGlite starts PostgreSQL with, after its own (which `startParams` replaces).
 * maintenance_work_mem (stock 64 MB) bounds what an index build of a migration may claim, which
 * WASM memory would keep for the life of the process.
 */
export function pgliteStartParams(defaults: readonly string[], memory: PgliteMemory): string[] {
  return [...defaults, '-c', `shared_buffers=${memory.sharedBuffersMB}MB`, '-c', 'maintenance_work_mem=16MB'];
}

/**
 * V8 compiles PGlite's WebAssembly (10 MB) with its baseline compiler, Liftoff, and then again
 * with TurboFan for the functions that run often; TurboFan's code stays resident, some 40–60 MB
 * for a server's queries. Measured on PGlite's statements (index reads and updates), Liftoff
 * alone costs no more CPU per statement than tiered code, so the server compiles with Liftoff
 * only. Set before PGlite compiles its module; it applies to every module this process compiles
 * afterwards, which on the server are PGlite's and undici's HTTP parser.
 */
export function compileWasmForMemory(): void {
  setFlagsFromString('--liftoff-only');
}

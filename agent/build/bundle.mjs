// Bundles the agent into one CommonJS file for a single executable application (SEA).
// esbuild resolves every import of the agent, @postern/shared and the npm dependencies; what is
// left external are optional native add-ons that their users load inside try/catch
// (ws: bufferutil, utf-8-validate; systeminformation: the macOS temperature sensors), so the
// bundle falls back to their JavaScript paths, as it would without them installed.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate', 'osx-temperature-sensor', 'macos-temperature-sensor'];

/**
 * Two source modules are read differently in the bundle:
 * - src/version.ts reads ../package.json next to itself at run time; the executable has no such
 *   file, so the bundle gets the version being packaged as a constant.
 * - src/cli/main.ts ends with a top-level await, which CommonJS cannot express; main() catches
 *   every error itself, so starting it without awaiting the module changes nothing.
 */
function shippedSource(version) {
  return {
    name: 'postern-shipped-source',
    setup(b) {
      b.onLoad({ filter: /[\\/]agent[\\/]src[\\/]version\.ts$/ }, () => ({
        contents: `export const AGENT_VERSION: string = ${JSON.stringify(version)};\n`,
        loader: 'ts',
      }));
      b.onLoad({ filter: /[\\/]agent[\\/]src[\\/]cli[\\/]main\.ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const last = /^await main\(process\.argv\);$/m;
        if (!last.test(source)) throw new Error(`${args.path} no longer ends with "await main(process.argv);": update agent/build/bundle.mjs`);
        return { contents: source.replace(last, 'void main(process.argv);'), loader: 'ts' };
      });
    },
  };
}

/** Writes the bundle to `outfile`; returns esbuild's metafile (inputs and sizes). */
export async function bundleAgent({ outfile, version }) {
  const result = await build({
    entryPoints: [`${here}sea-entry.cjs`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Sources are TypeScript ESM with ".js" specifiers; esbuild maps them to the .ts files.
    resolveExtensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    mainFields: ['module', 'main'],
    conditions: ['node', 'import', 'default'],
    external: OPTIONAL_NATIVE,
    plugins: [shippedSource(version)],
    legalComments: 'none',
    minifySyntax: true,
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

// Bundles the agent into one CommonJS file for a single executable application (SEA).
// esbuild resolves every import of the agent, @postern/shared and the npm dependencies. The only
// modules left out are optional native add-ons that their users load inside try/catch (ws:
// bufferutil, utf-8-validate; systeminformation: the macOS temperature sensors): the bundle gets
// a module that fails as a missing one does, so they take their JavaScript paths, as without the
// add-ons installed. (Left as real requires they would make the SEA runtime warn, and look for
// native code on disk, which a root service must not load from wherever it is started.)
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate', 'osx-temperature-sensor', 'macos-temperature-sensor'];
/**
 * Large modules the agent imports lazily for one rare step (undici: HTTP with a private CA;
 * systeminformation: the serial number at enrollment), shipped as assets of the single
 * executable beside the main script, each bundled on its own. The main script's source is held
 * by V8 for the life of the process; these two were half of it (about 1 MB, and 2 MB resident
 * with the parse), for code a running agent seldom or never runs.
 */
const SEA_ASSETS = { undici: 'undici.cjs', systeminformation: 'systeminformation.cjs' };

/**
 * Two source modules are read differently in the bundle:
 * - src/version.ts reads ../package.json next to itself at run time; the executable has no such
 *   file, so the bundle gets the version being packaged as a constant.
 * - src/cli/main.ts ends with a top-level await, which CommonJS cannot express; main() catches
 *   every error itself, so starting it without awaiting the module changes nothing.
 */
function withoutOptionalNative() {
  const filter = new RegExp(`^(${OPTIONAL_NATIVE.join('|')})$`);
  return {
    name: 'postern-without-optional-native',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'optional-native' }));
      b.onLoad({ filter: /.*/, namespace: 'optional-native' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not part of the postern-agent executable`)}), { code: 'MODULE_NOT_FOUND' });\n`,
        loader: 'js',
      }));
    },
  };
}

function asSeaAssets() {
  const filter = new RegExp(`^(${Object.keys(SEA_ASSETS).join('|')})$`);
  return {
    name: 'postern-sea-assets',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'sea-asset' }));
      b.onLoad({ filter: /.*/, namespace: 'sea-asset' }, (args) => ({
        contents: `module.exports = require('./sea-asset.cjs').loadSeaAsset(${JSON.stringify(SEA_ASSETS[args.path])});\n`,
        resolveDir: here,
        loader: 'js',
      }));
    },
  };
}

/**
 * zod's English messages only. zod exports every locale it has through namespace objects
 * (`z.locales`, `z.core.locales`), which no bundler can trim: 300 KB of source, half of zod in
 * the bundle, that the agent never uses (zod itself configures English, which stays).
 */
function zodEnglishOnly() {
  return {
    name: 'postern-zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};\n`,
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

/**
 * zod's optional compiler (`z.compile`) and JSON Schema reader (`z.fromJSONSchema`), which the
 * agent never calls, replaced by stubs with the same exports that say so if called. As with the
 * locales, zod's namespace re-exports keep them in any bundle: 65 KB of a 680 KB main script
 * whose source V8 holds for the life of the process. Neither is imported by the rest of zod
 * (the parser keeps its own copy of the compiler's sentinel symbol).
 */
const ZOD_UNUSED = {
  'core/compile.js': `const absent = (name) => () => { throw new Error(\`zod's \${name} is not part of the postern-agent executable\`); };
export const INVALID = Symbol.for("zod.compile.invalid");
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
export const compile = absent("compile");
export const compileFn = absent("compileFn");
export const withParser = absent("withParser");
`,
  'classic/from-json-schema.js': `export function fromJSONSchema() { throw new Error("zod's fromJSONSchema is not part of the postern-agent executable"); }
`,
};

function zodWithoutUnused() {
  return {
    name: 'postern-zod-without-unused',
    setup(b) {
      b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/](core[\\/]compile|classic[\\/]from-json-schema)\.js$/ }, (args) => {
        const key = Object.keys(ZOD_UNUSED).find((k) => args.path.replaceAll('\\', '/').endsWith(`/zod/v4/${k}`));
        return key ? { contents: ZOD_UNUSED[key], loader: 'js' } : undefined;
      });
    },
  };
}

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

/**
 * The bundle as ASCII. V8 holds a script's source for the life of the process, one byte a
 * character when every character is Latin-1 and two otherwise: one "│" in a regular expression
 * doubled the agent's 2 MB source in memory. esbuild escapes strings and identifiers, not the
 * characters of regular expressions; outside comments (gone with minifyWhitespace) non-ASCII is
 * left only in literals, where \uXXXX (one per UTF-16 unit, pairs included) means the same.
 * A character right after a backslash would change meaning, so that stops the build instead.
 */
function asAscii(code) {
  const escaped = /\\[^\x00-\x7f]/.exec(code);
  if (escaped) throw new Error(`the agent bundle escapes a non-ASCII character (${JSON.stringify(code.slice(escaped.index - 40, escaped.index + 10))}): write it as \\uXXXX in the source`);
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What the main script and the assets share: CommonJS for Node 20, whitespace and comments gone. */
const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  legalComments: 'none',
  // Whitespace and comments go (a smaller source to hold); names stay, for readable stack traces.
  minifySyntax: true,
  minifyWhitespace: true,
  metafile: true,
  write: false,
  logLevel: 'warning',
};

/**
 * Writes the bundle to `outfile` and each of SEA_ASSETS beside it. Returns esbuild's metafile of
 * the main script (inputs and sizes) and `assets`, the single executable's asset table (name →
 * file), for its `sea-config.json`.
 */
export async function bundleAgent({ outfile, version }) {
  const result = await build({
    ...COMMON,
    entryPoints: [`${here}sea-entry.cjs`],
    outfile,
    // Sources are TypeScript ESM with ".js" specifiers; esbuild maps them to the .ts files.
    resolveExtensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    mainFields: ['module', 'main'],
    conditions: ['node', 'import', 'default'],
    plugins: [withoutOptionalNative(), asSeaAssets(), zodEnglishOnly(), zodWithoutUnused(), shippedSource(version)],
  });
  const [output] = result.outputFiles;
  await writeFile(outfile, asAscii(output.text));
  const assets = {};
  for (const [module, name] of Object.entries(SEA_ASSETS)) {
    const file = join(dirname(outfile), name);
    const built = await build({
      ...COMMON,
      stdin: { contents: `module.exports = require(${JSON.stringify(module)});\n`, resolveDir: here, loader: 'js' },
      outfile: file,
      plugins: [withoutOptionalNative()],
    });
    await writeFile(file, asAscii(built.outputFiles[0].text));
    assets[name] = file;
  }
  return { metafile: result.metafile, assets };
}

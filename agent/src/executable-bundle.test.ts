import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Bundled {
  metafile: { inputs: Record<string, unknown> };
  assets: Record<string, string>;
}

// build/bundle.mjs is plain JavaScript run by scripts/package.mjs; its result is typed here.
const bundleModule = new URL('../build/bundle.mjs', import.meta.url).href;

describe('the single executable bundle', () => {
  let dir: string;
  let bundled: Bundled;
  let main: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-bundle-'));
    const { bundleAgent } = (await import(bundleModule)) as { bundleAgent(options: { outfile: string; version: string }): Promise<Bundled> };
    bundled = await bundleAgent({ outfile: join(dir, 'postern-agent.cjs'), version: '0.0.0-test' });
    main = await readFile(join(dir, 'postern-agent.cjs'), 'utf8');
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps undici and systeminformation out of the main script, as assets beside it', async () => {
    const inputs = Object.keys(bundled.metafile.inputs);
    expect(inputs.filter((path) => /[\\/]node_modules[\\/](undici|systeminformation)[\\/]/.test(path))).toEqual([]);
    expect(Object.keys(bundled.assets).sort()).toEqual(['systeminformation.cjs', 'undici.cjs']);
    // Whole bundles are too long to print: each check is a yes or no.
    expect(main.includes('loadSeaAsset("undici.cjs")')).toBe(true);
    expect(main.includes('loadSeaAsset("systeminformation.cjs")')).toBe(true);
    expect((await readFile(bundled.assets['undici.cjs']!, 'utf8')).includes('node_modules/undici/lib/dispatcher/agent.js')).toBe(true);
    expect((await readFile(bundled.assets['systeminformation.cjs']!, 'utf8')).includes('node_modules/systeminformation/lib/system.js')).toBe(true);
  });

  it("holds zod's English locale and no other", () => {
    const locales = Object.keys(bundled.metafile.inputs).filter((path) => /[\\/]zod[\\/]v4[\\/]locales[\\/]/.test(path));
    expect([...new Set(locales.map((path) => path.replace(/.*[\\/]/, '')))]).toEqual(['en.js']);
  });

  it("leaves out zod's compiler and JSON Schema reader, for stubs that say so", () => {
    expect(main.includes('z.compile does not support async refinements')).toBe(false);
    expect(main.includes('External $ref is not supported')).toBe(false);
    expect(main.includes("zod's fromJSONSchema is not part of the postern-agent executable")).toBe(true);
  });

  it('is ASCII, main script and assets alike', async () => {
    for (const text of [main, ...(await Promise.all(Object.values(bundled.assets).map((file) => readFile(file, 'utf8'))))]) {
      expect(/[^\x00-\x7f]/.exec(text)).toBeNull();
    }
  });
});

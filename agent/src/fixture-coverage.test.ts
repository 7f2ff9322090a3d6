import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const agentDir = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = join(agentDir, 'fixtures');
/** The project's published captures, next to the repository (not in it, so absent on CI runners). */
const publishedDir = join(agentDir, '..', '..', 'shared', 'fixtures');
const PLATFORMS = ['linux', 'macos', 'windows'];

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : filesUnder(path, keep);
    return keep(path) ? [path] : [];
  });
}

const fixtureFiles = PLATFORMS.flatMap((p) => readdirSync(join(fixturesDir, p)).map((name) => `${p}/${name}`));
/** Where tests name fixtures: the tests themselves and the test-only helpers beside the fixtures. */
const testSources = [
  ...filesUnder(join(agentDir, 'src'), (p) => p.endsWith('.test.ts')),
  ...filesUnder(fixturesDir, (p) => p.endsWith('.ts')),
].map((path) => readFileSync(path, 'utf8'));

describe('fixtures', () => {
  it('are each used by at least one test, which asserts the section or parser output they give', () => {
    const unused = fixtureFiles.filter((f) => !testSources.some((text) => text.includes(f.slice(f.indexOf('/') + 1))));
    expect(unused).toEqual([]);
  });

  it('each start with the line that says where they come from', () => {
    const unsourced = fixtureFiles.filter((f) => !readFileSync(join(fixturesDir, f), 'utf8').startsWith('# source: '));
    expect(unsourced).toEqual([]);
  });

  it.runIf(existsSync(publishedDir))('include every published capture of ../shared/fixtures, unchanged', () => {
    const published = PLATFORMS.flatMap((p) => (existsSync(join(publishedDir, p)) ? readdirSync(join(publishedDir, p)).map((name) => `${p}/${name}`) : []));
    expect(published.length).toBeGreaterThan(0);
    const missingOrChanged = published.filter((f) => {
      const copy = join(fixturesDir, f);
      return !existsSync(copy) || readFileSync(copy, 'utf8') !== readFileSync(join(publishedDir, f), 'utf8');
    });
    expect(missingOrChanged.map((f) => relative(publishedDir, join(publishedDir, f)))).toEqual([]);
  });
});

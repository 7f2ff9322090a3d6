import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Folders are layers: imports between them go one way. Read with TypeScript's own import scanner. */
const src = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** folder → folder → one file that makes the edge (for the message). */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sources(src)) {
    const from = relative(src, file).split(sep)[0] as string;
    if (from.endsWith('.ts')) continue; // the composition root (server.ts, context.ts) may see every folder
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = relative(src, resolve(dirname(file), fileName)).split(sep)[0] as string;
      if (to === from || to.endsWith('.ts') || to.endsWith('.js')) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, relative(src, file));
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Every cycle, as `a → b (file) → … → a`. */
function cycles(graph: Map<string, Map<string, string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const [next] of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const loop = [...path.slice(path.indexOf(next)), next];
        found.push(loop.map((n, i) => (i + 1 < loop.length ? `${n} → (${graph.get(n)?.get(loop[i + 1] as string)})` : n)).join(' '));
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('the backend’s folders', () => {
  const graph = folderGraph();

  it('import each other without cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('keep the policy language pure: it reaches no store, event stream or lifecycle', () => {
    expect([...(graph.get('policy')?.keys() ?? [])].sort()).toEqual(['time']);
  });

  it('keep the judge apart from the transports: standing/ imports no HTTP, stream or admin code', () => {
    const reached = [...(graph.get('standing')?.keys() ?? [])];
    expect(reached.filter((f) => ['http', 'stream', 'admin', 'attestation', 'decisions'].includes(f))).toEqual([]);
  });
});

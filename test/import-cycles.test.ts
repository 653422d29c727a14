/**
 * The sources import one way: no cycle among proxy/, certs/ and config/, type-only imports
 * counted (`import type`, `export … from`), since a cycle of types still ties two modules'
 * designs together. A small walk over the import specifiers, no dependency.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/proxy.js';

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** Each source file's relative imports, resolved to source files (`./x.js` is `./x.ts`). */
export function importGraph(roots: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of roots.flatMap(sourcesUnder)) {
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    const deps: string[] = [];
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!spec.startsWith('.')) continue;
      deps.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    }
    graph.set(file, deps);
  }
  return graph;
}

/** The first cycle found, as the path of files that closes it; undefined when there is none. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('import cycles', () => {
  it('finds none among the sources, type imports counted', () => {
    const roots = ['proxy', 'certs', 'config'].map((d) => path.join(ROOT, d));
    const graph = importGraph(roots);
    assert.ok(graph.size > 50, `only ${graph.size} sources found under ${ROOT}`);
    const cycle = findCycle(graph);
    assert.equal(cycle, undefined, `import cycle: ${cycle?.map((f) => path.relative(ROOT, f)).join(' → ')}`);
  });

  it('reports a planted cycle (a type import closing it) with its path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-cycle-'));
    try {
      fs.mkdirSync(path.join(dir, 'flow'));
      fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './flow/b.js';\nexport const a = b;\n");
      fs.writeFileSync(path.join(dir, 'flow', 'b.ts'), "export { c as b } from '../c.js';\n");
      fs.writeFileSync(path.join(dir, 'c.ts'), "import type { a } from './a.js';\nexport const c = 1 as unknown as typeof a;\n");
      fs.writeFileSync(path.join(dir, 'd.ts'), "// import { a } from './a.js';\nexport const d = 1;\n");
      const cycle = findCycle(importGraph([dir]))?.map((f) => path.relative(dir, f));
      assert.deepEqual(cycle, ['a.ts', path.join('flow', 'b.ts'), 'c.ts', 'a.ts']);
      fs.writeFileSync(path.join(dir, 'c.ts'), 'export const c = 1;\n');
      assert.equal(findCycle(importGraph([dir])), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

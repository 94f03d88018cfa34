/**
 * Dependencies point one way: no import cycle in src/ (type-only imports included), and the layers
 * below the use cases never import the use cases, the renderers or the command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';

const SRC = path.resolve(import.meta.dirname, '../../src');

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of fg.sync('**/*.ts', { cwd: SRC })) {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']+)\.js';/gms)) {
      deps.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), `${m[1]!}.ts`)));
    }
    graph.set(file, deps);
  }
  return graph;
}

test('src/ has no import cycle', () => {
  const graph = importGraph();
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...stack.slice(stack.indexOf(f)), f].join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const d of graph.get(f) ?? []) visit(d, [...stack, f]);
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) visit(f, []);
  assert.deepEqual(cycles, []);
});

/** Imports from a file for which `from` holds into one of the `targets` folders, as `file → import`. */
function importsInto(from: (file: string) => boolean, targets: string[]): string[] {
  const wrong: string[] = [];
  for (const [f, deps] of importGraph()) {
    if (!from(f)) continue;
    for (const d of deps) if (targets.some((h) => d.startsWith(h))) wrong.push(`${f} → ${d}`);
  }
  return wrong;
}

test('lower layers never import app/, report/ or cli/', () => {
  const low = ['layout/', 'storage/', 'scan/', 'index/', 'audit/', 'gc/', 'prune/'];
  assert.deepEqual(
    importsInto((f) => low.some((l) => f.startsWith(l)), ['app/', 'report/', 'cli/']),
    [],
  );
});

test('storage drivers import no scanner, rule, planner or applier', () => {
  const above = ['scan/', 'audit/', 'gc/', 'prune/', 'reclaim/', 'app/', 'report/', 'cli/'];
  assert.deepEqual(
    importsInto((f) => f.startsWith('storage/') || f.startsWith('layout/'), above),
    [],
  );
});

test('the index owns what it produces: src/index imports no scanner, model, rule, planner, applier or use case', () => {
  const above = ['scan/', 'gc/', 'audit/', 'prune/', 'reclaim/', 'app/', 'report/', 'cli/'];
  assert.deepEqual(
    importsInto((f) => f.startsWith('index/'), above),
    [],
  );
});

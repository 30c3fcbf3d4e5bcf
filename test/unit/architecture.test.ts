import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape of src/ that keeps it readable: no import cycle between files or between
 * folders (type-only and dynamic imports count: a reader follows them too), nothing below
 * the wiring imports main.ts (only the command line, which starts it, does), and the
 * command line loads nothing heavy before it knows the command.
 */

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Every file's relative imports and re-exports (import type and import() included), as
 * files under src/; with `loadedFirst`, only what is loaded with the file itself: value
 * imports, neither `import type` nor `import()`.
 */
function importGraph(o: { loadedFirst?: boolean } = {}): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const statements = [...text.matchAll(/^\s*(?:import|export)\s([^'"]*?)from\s+'(\.[^']+)'/gm)]
      .filter((m) => !(o.loadedFirst && /^type\s/.test(m[1]!)))
      .map((m) => m[2]!);
    const dynamic = o.loadedFirst ? [] : [...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]!);
    const targets = [...statements, ...dynamic].map((target) => resolve(dirname(file), target.replace(/\.js$/, '.ts')));
    graph.set(relative(SRC, file), targets.map((t) => relative(SRC, t)));
  }
  return graph;
}

/** The files loaded with `start` and everything they load in turn. */
function closure(graph: ReadonlyMap<string, readonly string[]>, start: string): string[] {
  const seen = new Set<string>([start]);
  for (const file of seen) for (const target of graph.get(file) ?? []) seen.add(target);
  return [...seen].sort();
}

/** The strongly connected groups of more than one node (Tarjan): each is a cycle. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) found.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const folderOf = (file: string): string | undefined => (file.includes('/') ? file.split('/')[0] : undefined);

describe('src/ imports', () => {
  const graph = importGraph();

  it('reads the imports it checks (a check of nothing would pass)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('main.ts')).toContain('wiring.ts');
  });

  it('has no cycle between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const folders = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      if (!from) continue;
      for (const target of targets) {
        const to = folderOf(target);
        if (to && to !== from) folders.set(from, (folders.get(from) ?? new Set()).add(to));
      }
    }
    expect(cycles(new Map([...folders].map(([k, v]) => [k, [...v]])))).toEqual([]);
  });

  it('has main.ts imported by the command line only', () => {
    expect([...graph].filter(([, targets]) => targets.includes('main.ts')).map(([file]) => file)).toEqual(['cli/index.ts']);
  });

  it('loads, with devices and sessions, none of the libraries only a gateway needs (LDAP, X.509 and ASN.1, templates, HTTP)', () => {
    const gatewayOnly = /^\s*import\s(?!type\s)[^'"]*?from\s+'(ldapts|node-forge|nunjucks|koa|@koa\/[^']+|@peculiar\/[^']+)'/m;
    const loaded = importGraph({ loadedFirst: true });
    // The check itself: the gateway's wiring does load them.
    expect(closure(loaded, 'wiring.ts').filter((file) => gatewayOnly.test(readFileSync(join(SRC, file), 'utf8'))).length).toBeGreaterThan(3);
    for (const command of ['cli/commands/devices.ts', 'cli/commands/sessions.ts']) {
      expect(closure(loaded, command).filter((file) => gatewayOnly.test(readFileSync(join(SRC, file), 'utf8'))), command).toEqual([]);
    }
  });

  it('loads, with the command line, only what its help and its usage errors need: each command imports the rest when it runs', () => {
    expect(closure(importGraph({ loadedFirst: true }), 'cli/index.ts')).toEqual(['cli/index.ts', 'cli/usage.ts', 'config/layout.ts', 'config/variables.ts', 'errors.ts']);
  });
});

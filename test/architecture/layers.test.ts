/**
 * The folder layering of src/ (docs/runtime.md): folders import each other
 * through their index.ts front doors, and never in a ring. Type-only
 * imports are free: they vanish when the code runs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

interface Edge {
  from: string;
  to: string;
  file: string;
  target: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The top-level folder of src/ a file belongs to ('' for src/index.ts). */
function folderOf(path: string): string {
  const rel = relative(SRC, path).split(sep);
  return rel.length > 1 ? rel[0]! : '';
}

function edges(): Edge[] {
  const out: Edge[] = [];
  const re = /^(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gms;
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(re)) {
      const spec = m[3]!;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to || from === '') continue;
      out.push({ from, to, file: relative(SRC, file), target: relative(SRC, target), typeOnly: m[2] !== undefined });
    }
  }
  return out;
}

describe('src/ layering', () => {
  const all = edges();

  it('imports across folders only through the folder front door (index.ts), types included', () => {
    const bad = all.filter((e) => !e.target.endsWith(`${e.to}${sep}index.ts`)).map((e) => `${e.file} -> ${e.target}`);
    expect(bad).toEqual([]);
  });

  it('has no ring of folders importing each other (type-only imports aside)', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of all) {
      if (e.typeOnly) continue;
      if (!graph.has(e.from)) graph.set(e.from, new Set());
      graph.get(e.from)!.add(e.to);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 'open');
      stack.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '));
        else if (state.get(m) === undefined) visit(m);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const n of [...graph.keys()].sort()) if (state.get(n) === undefined) visit(n);
    expect(cycles).toEqual([]);
  });

  it('keeps the kernel free of the executors, hosts and controllers built on it', () => {
    const up = all.filter((e) => e.from === 'kernel' && !e.typeOnly && ['executor', 'runtime', 'testing', 'cli', 'kafka'].includes(e.to));
    expect(up.map((e) => `${e.file} -> ${e.target}`)).toEqual([]);
  });
});

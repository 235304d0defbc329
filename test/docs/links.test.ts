/**
 * Nothing in the repository points at a file outside it: every relative link
 * of every Markdown file resolves to a file of the repository, and no file
 * names the design notes or shared folders the project grew out of.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/cli.ts';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '.kafka']);
const TEXT = /\.(md|ts|mts|mjs|js|json|sh|yml|yaml)$|^run$/;

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    // Temporary directories of running tests (test/docs/.readme-*) are not the repository's.
    if (e.isDirectory() && !SKIP_DIRS.has(e.name) && !e.name.startsWith('.readme-')) files(join(dir, e.name), out);
    else if (e.isFile() && TEXT.test(e.name) && e.name !== 'package-lock.json') out.push(join(dir, e.name));
  }
  return out;
}

const ALL = files(ROOT);

it('scans the repository', () => {
  expect(ALL.filter((f) => f.endsWith('.md')).length).toBeGreaterThan(10);
  expect(ALL.length).toBeGreaterThan(100);
});

describe('links', () => {
  it('every relative link in a Markdown file names a file of the repository that exists', () => {
    const bad: string[] = [];
    for (const file of ALL.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const path = resolve(dirname(file), target);
        const where = `${relative(ROOT, file)} -> ${m[1]}`;
        if (path !== ROOT && !path.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep)) bad.push(`${where}: outside the repository`);
        else if (!existsSync(path)) bad.push(`${where}: no such file`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no file points at design notes or shared folders outside the repository', () => {
    const bad: string[] = [];
    const self = relative(ROOT, new URL(import.meta.url).pathname);
    for (const file of ALL) {
      if (relative(ROOT, file) === self) continue;
      const text = readFileSync(file, 'utf8');
      for (const pattern of ['DESIGN.md', '../shared']) if (text.includes(pattern)) bad.push(`${relative(ROOT, file)}: ${pattern}`);
    }
    expect(bad).toEqual([]);
  });

  it('the architecture page is linked from README', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('](docs/architecture.md)');
  });
});

/**
 * Every code block of README.md is run here, so the examples cannot drift
 * from the code. Each block gets a verdict:
 *
 * - ```ts: written to a file in a temporary directory under the repository,
 *   with `squall`, `squall/testing` and `squall/kafka` imports pointed at
 *   src/, and imported (executed). A block that `export default`s a topology
 *   is run with `squall run <file> --duration 1`. An expression statement
 *   followed by a comment that starts with a value (`result.emitted('split');
 *   // [['the'], ['moon']]`) is checked: the expression must equal the value.
 *   A run the block leaves going (`const run = await submit(...)`) is killed
 *   after it.
 * - ```sh: every command is run from the repository root and must exit 0:
 *   `npx squall run|describe ...` as `node bin/squall.js ...`, with
 *   `--duration` cut to 1 second; `npm install` is not run (the tests run in
 *   an installed tree), nor `npm test` (this test is part of it). Any other
 *   command fails the test: mark the block.
 * - ```json: must parse.
 *
 * An HTML comment right before a block's fence gives it another verdict:
 *
 * - `<!-- readme-test: skip <reason> -->`: not run; the reason is printed.
 *   For blocks that need Kafka or a deployment. Keep these few.
 * - `<!-- readme-test: file <name>.ts -->`: a ts block run as above, written
 *   as `<name>.ts`, so later blocks can `import ... from './<name>.ts'`.
 * - `<!-- readme-test: usage -->`: a CLI synopsis: it shows the commands
 *   `squall --help` lists, each with the options `squall <command> --help`
 *   lists.
 *
 * A block of any other language, or with an unknown verdict, fails the test.
 * The ts blocks that run are also type-checked with the repository's
 * tsconfig.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isTopology } from '../../src/topology/index.ts';
import { ROOT } from '../cli/cli.ts';

export interface Block {
  /** 1-based position among the README's blocks. */
  n: number;
  /** Line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** The `readme-test:` comment before it, if any. */
  verdict: string | null;
  /** The heading it is under. */
  section: string;
}

/** The fenced blocks of a Markdown text, with the verdict comment right before each (blank lines between allowed). */
export function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*)$/.exec(lines[i]!);
    if (heading) section = heading[1]!;
    const open = /^(`{3,})\s*([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trimEnd() !== fence) end++;
    if (end === lines.length) throw new Error(`README.md line ${i + 1}: a code block that is never closed`);
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const comment = k >= 0 ? /^<!--\s*readme-test:\s*(.*?)\s*-->$/.exec(lines[k]!.trim()) : null;
    blocks.push({
      n: blocks.length + 1,
      line: i + 1,
      lang: open[2]!,
      code: lines.slice(i + 1, end).join('\n'),
      verdict: comment ? comment[1]! : null,
      section,
    });
    i = end;
  }
  return blocks;
}

type Verdict =
  | { kind: 'skip'; reason: string }
  | { kind: 'ts'; file: string | null }
  | { kind: 'sh' }
  | { kind: 'json' }
  | { kind: 'usage' }
  | { kind: 'none'; why: string };

export function verdictOf(b: Block): Verdict {
  if (b.verdict !== null) {
    const [word, ...rest] = b.verdict.split(/\s+/);
    const arg = rest.join(' ').trim();
    if (word === 'skip') return arg === '' ? { kind: 'none', why: 'a skip needs a reason: <!-- readme-test: skip <reason> -->' } : { kind: 'skip', reason: arg };
    if (word === 'file' && b.lang === 'ts' && /^[\w.-]+\.ts$/.test(arg)) return { kind: 'ts', file: arg };
    if (word === 'usage' && b.lang === 'sh' && arg === '') return { kind: 'usage' };
    return { kind: 'none', why: `unknown verdict '${b.verdict}' for a ${b.lang || 'plain'} block` };
  }
  if (b.lang === 'ts') return { kind: 'ts', file: null };
  if (b.lang === 'sh') return { kind: 'sh' };
  if (b.lang === 'json') return { kind: 'json' };
  return { kind: 'none', why: `no verdict for a ${b.lang || 'plain'} block: make it ts, sh or json, or mark it <!-- readme-test: skip <reason> -->` };
}

// -- ts blocks ----------------------------------------------------------------

/** `squall`, `squall/testing`, ... as the repository's sources, relative to `dir`. */
function mapImports(code: string, dir: string): string {
  return code.replace(/(from\s+|import\s*\(\s*)'(squall(?:\/([\w-]+))?)'/g, (_m, pre: string, _spec: string, sub: string | undefined) => {
    const target = join(ROOT, 'src', sub ?? '', 'index.ts');
    let rel = relative(dir, target);
    if (!rel.startsWith('.')) rel = `./${rel}`;
    return `${pre}'${rel}'`;
  });
}

/**
 * The value a comment starts with (`[['the'], ['cow']], each anchored` →
 * `[['the'], ['cow']]`): a bracketed or quoted prefix, or null.
 */
export function leadingValue(comment: string): string | null {
  const c = comment.trimStart();
  if (!/^[[{'"]/.test(c)) return null;
  const stack: string[] = [];
  let quote: string | null = null;
  for (let i = 0; i < c.length; i++) {
    const ch = c[i]!;
    if (quote !== null) {
      if (ch === '\\') i++;
      else if (ch === quote) {
        quote = null;
        if (stack.length === 0) return c.slice(0, i + 1);
      }
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[' || ch === '{') stack.push(ch === '[' ? ']' : '}');
    else if (ch === ']' || ch === '}') {
      if (stack.pop() !== ch) return null;
      if (stack.length === 0) return c.slice(0, i + 1);
    }
  }
  return null;
}

const CHECK = '__readmeCheck';

/** `expr; // value ...` lines become checks that expr equals value. */
export function withChecks(code: string, where: string): { code: string; checks: number } {
  let checks = 0;
  const out = code.split('\n').map((line, i) => {
    const m = /^(\s*)([^/\s].*?);\s*\/\/(.*)$/.exec(line);
    if (!m || /^(const|let|var|return|import|export|class|function|if|for|while|throw)\b/.test(m[2]!)) return line;
    const value = leadingValue(m[3]!);
    if (value === null) return line;
    checks++;
    return `${m[1]}${CHECK}(await (${m[2]}), ${value}, ${JSON.stringify(`${where}, line ${i + 1}: ${line.trim()}`)});`;
  });
  return { code: out.join('\n'), checks };
}

function prologue(): string {
  return `import { isDeepStrictEqual as __readmeEqual } from 'node:util';
function ${CHECK}(actual: unknown, expected: unknown, where: string): void {
  if (!__readmeEqual(actual, expected)) throw new Error(\`\${where}: the comment says \${JSON.stringify(expected)}, the code gives \${JSON.stringify(actual)}\`);
}
`;
}

/** Kill a run the block left going, so the test does not leak it. */
function epilogue(code: string): string {
  if (!/^const run = await submit\(/m.test(code)) return '';
  return `\nif (run.status === 'active' || run.status === 'inactive') await run.kill({ waitMs: 5000 });\n`;
}

// -- sh blocks ----------------------------------------------------------------

/** Commands of a shell block: continuations joined, comments dropped, `&&` split. */
export function commandsOf(code: string): string[] {
  const logical = code.replace(/\\\n\s*/g, ' ').split('\n');
  const out: string[] = [];
  for (const line of logical) {
    const noComment = line.replace(/(^|\s)#.*$/, '').trim();
    if (noComment === '') continue;
    for (const part of noComment.split('&&')) if (part.trim() !== '') out.push(part.trim().replace(/\s+/g, ' '));
  }
  return out;
}

type Plan = { run: false; why: string } | { run: true; argv: string[] };

export function planCommand(cmd: string): Plan | null {
  if (cmd === 'npm install' || cmd === 'npm ci') return { run: false, why: 'the tests run in an installed tree' };
  if (cmd === 'npm test') return { run: false, why: 'it runs the suite this test is part of' };
  const m = /^npx squall (run|describe) (.*)$/.exec(cmd);
  if (m) {
    if (/[<>|;$`"'(]/.test(m[2]!)) return null;
    const args = m[2]!.split(' ');
    if (m[1] === 'run') {
      const d = args.indexOf('--duration');
      if (d >= 0) args[d + 1] = '1';
      else args.push('--duration', '1');
    }
    return { run: true, argv: ['bin/squall.js', m[1]!, ...args] };
  }
  return null;
}

function squall(argv: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, argv, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SQUALL_DEBUG: '', SQUALL_RUN_DIR: runDir },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// -- usage blocks ---------------------------------------------------------------

/** Each `npx squall <command>` of a synopsis with the options it shows (continuation lines included). */
export function synopsis(code: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let current: Set<string> | null = null;
  for (const line of code.split('\n')) {
    const m = /^npx squall (\w+)/.exec(line);
    if (m) {
      current = out.get(m[1]!) ?? new Set();
      out.set(m[1]!, current);
    } else if (!/^\s/.test(line)) current = null;
    if (current !== null) for (const o of line.matchAll(/--[a-z][\w-]*/g)) current.add(o[0]);
  }
  return out;
}

function helpOptions(command: string): Set<string> {
  const r = squall(['bin/squall.js', command, '--help']);
  expect(r.code, `squall ${command} --help: ${r.stderr}`).toBe(0);
  const options = r.stdout.slice(r.stdout.indexOf('Options:'));
  return new Set([...options.matchAll(/--[a-z][\w-]*/g)].map((m) => m[0]).filter((o) => o !== '--help'));
}

// -- the test -------------------------------------------------------------------

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const BLOCKS = extractBlocks(README);
const dir = mkdtempSync(join(ROOT, 'test/docs/.readme-'));
const runDir = mkdtempSync(join(dir, 'run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every ts block is written before any runs, so that blocks can import the ones named by `file`. */
const files = new Map<Block, string>();
for (const b of BLOCKS) {
  const v = verdictOf(b);
  if (v.kind !== 'ts') continue;
  const file = join(dir, v.file ?? `block-${b.n}.ts`);
  const where = `README.md block ${b.n} (line ${b.line})`;
  const { code } = withChecks(mapImports(b.code, dir), where);
  writeFileSync(file, `${prologue()}${code}\n${epilogue(b.code)}`);
  files.set(b, file);
}

const label = (b: Block) => `block ${b.n} (line ${b.line}, ${b.lang || 'plain'}, "${b.section}")`;

describe('README.md code blocks', () => {
  it('finds the blocks, every one with a verdict, and prints the skipped ones with their reasons', () => {
    expect(BLOCKS.length).toBeGreaterThan(10);
    const none = BLOCKS.map((b) => [b, verdictOf(b)] as const).filter(([, v]) => v.kind === 'none');
    expect(none.map(([b, v]) => `${label(b)}: ${(v as { why: string }).why}`)).toEqual([]);
    const skipped = BLOCKS.map((b) => [b, verdictOf(b)] as const).filter(([, v]) => v.kind === 'skip');
    for (const [b, v] of skipped) console.log(`README ${label(b)} not run: ${(v as { reason: string }).reason}`);
    // Skips stay the exception.
    expect(skipped.length).toBeLessThanOrEqual(Math.ceil(BLOCKS.length / 2));
  });

  for (const b of BLOCKS) {
    const v = verdictOf(b);
    if (v.kind === 'skip' || v.kind === 'none') continue;
    it(
      `runs ${label(b)}`,
      async () => {
        if (v.kind === 'ts') {
          const file = files.get(b)!;
          const namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
          if (/^export default /m.test(b.code)) {
            expect(isTopology(namespace['default']), 'its default export is a topology').toBe(true);
            const topology = namespace['default'] as { config: { ackers: number; checkpointIntervalMs: number } };
            const checkpoints = topology.config.checkpointIntervalMs > 0;
            const stateDir = join(dir, `state-${b.n}`);
            const r = squall(['bin/squall.js', 'run', file, '--duration', '1', '--json', ...(checkpoints ? ['--state-dir', stateDir] : [])]);
            expect(r.code, r.stderr).toBe(0);
            const report = JSON.parse(r.stdout) as { totals: { acked: number; emitted: number }; checkpoints?: { completed: number } };
            // Checkpoint mode without ackers tracks no trees: it shows in what was emitted and checkpointed.
            if (checkpoints && topology.config.ackers === 0) {
              expect(report.totals.emitted).toBeGreaterThan(0);
              expect(report.checkpoints!.completed).toBeGreaterThan(0);
            } else {
              expect(report.totals.acked).toBeGreaterThan(0);
            }
          }
        } else if (v.kind === 'sh') {
          const commands = commandsOf(b.code);
          expect(commands.length).toBeGreaterThan(0);
          for (const cmd of commands) {
            const plan = planCommand(cmd);
            if (plan === null) {
              throw new Error(`README ${label(b)}: no rule to run \`${cmd}\`; run it by hand and mark the block <!-- readme-test: skip <reason> -->, or teach test/docs/readme.test.ts`);
            }
            if (!plan.run) {
              console.log(`README ${label(b)}: \`${cmd}\` not run: ${plan.why}`);
              continue;
            }
            const r = squall(plan.argv);
            expect(r.code, `\`${cmd}\` as node ${plan.argv.join(' ')}:\n${r.stderr}`).toBe(0);
            expect(r.stdout).toMatch(/^topology '|^components/m);
          }
        } else if (v.kind === 'json') {
          expect(() => JSON.parse(b.code)).not.toThrow();
        } else if (v.kind === 'usage') {
          const commands = synopsis(b.code);
          expect(commands.size).toBeGreaterThan(0);
          const help = squall(['bin/squall.js', '--help']).stdout;
          const listed = [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
          expect(listed.length).toBeGreaterThan(0);
          expect([...commands.keys()].sort(), 'the commands README shows').toEqual(listed.sort());
          for (const [command, shown] of commands) {
            expect([...shown].sort(), `the options README shows for squall ${command}`).toEqual([...helpOptions(command)].sort());
          }
        }
      },
      90_000,
    );
  }
});

describe('README.md TypeScript blocks', () => {
  it('type-check as the repository does (tsconfig.json, strict)', () => {
    const tsconfig = join(dir, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({ extends: relative(dir, join(ROOT, 'tsconfig.json')), include: [...files.values()].map((f) => relative(dir, f)) }),
    );
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    // Name README's line, not the temporary file's.
    const offset = prologue().split('\n').length - 1;
    let out = r.stdout + r.stderr;
    for (const [b, file] of files) {
      const name = relative(ROOT, file).replaceAll('.', '\\.');
      out = out.replace(new RegExp(`${name}\\((\\d+),(\\d+)\\)`, 'g'), (_m, l: string, c: string) => `README.md(${b.line + Number(l) - offset},${c})`);
    }
    expect(out).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});

describe('the README test machinery', () => {
  it('reads verdicts and blocks', () => {
    const md = ['# T', '', '<!-- readme-test: skip needs Kafka -->', '```sh', 'npm run kafka:up', '```', '', '```ts', 'x();', '```', '```text', 'a', '```'].join('\n');
    const [a, b, c] = extractBlocks(md);
    expect(verdictOf(a!)).toEqual({ kind: 'skip', reason: 'needs Kafka' });
    expect(verdictOf(b!)).toEqual({ kind: 'ts', file: null });
    expect(verdictOf(c!).kind).toBe('none');
    expect(verdictOf({ ...a!, verdict: 'skip' }).kind).toBe('none');
    expect(verdictOf({ ...b!, verdict: 'file word-count.ts' })).toEqual({ kind: 'ts', file: 'word-count.ts' });
  });

  it('turns `expr; // value` into a check, and leaves prose comments alone', () => {
    expect(leadingValue(" [['the'], ['cow']], each anchored to input")).toBe("[['the'], ['cow']]");
    expect(leadingValue(" 'acked', as the runtime would")).toBe("'acked'");
    expect(leadingValue(' run every task until nothing moves')).toBeNull();
    const { code, checks } = withChecks("result.emitted('split');   // [['a']]\nrun.settle();  // run every task\nconst x = 1; // [1]", 'w');
    expect(checks).toBe(1);
    expect(code.split('\n')[0]).toBe(`${CHECK}(await (result.emitted('split')), [['a']], "w, line 1: result.emitted('split');   // [['a']]");`);
    expect(isDeepStrictEqual(code.split('\n').slice(1), ['run.settle();  // run every task', 'const x = 1; // [1]'])).toBe(true);
  });

  it('plans shell commands: squall with a short duration, npm install not at all, anything else refused', () => {
    expect(commandsOf('npm install && npx squall run t.ts --duration 10   # ten seconds\nnpx squall describe t.ts \\\n  --threads 2')).toEqual([
      'npm install',
      'npx squall run t.ts --duration 10',
      'npx squall describe t.ts --threads 2',
    ]);
    expect(planCommand('npx squall run t.ts --duration 10')).toEqual({ run: true, argv: ['bin/squall.js', 'run', 't.ts', '--duration', '1'] });
    expect(planCommand('npx squall run t.ts')).toEqual({ run: true, argv: ['bin/squall.js', 'run', 't.ts', '--duration', '1'] });
    expect(planCommand('npm install')).toMatchObject({ run: false });
    expect(planCommand('npm run kafka:up')).toBeNull();
    expect(planCommand('npx squall run <module>')).toBeNull();
  });

  it('reads a synopsis', () => {
    const s = synopsis('npx squall run <module> [--duration <s>]\n                        [--json]\nnpx squall kill <name> [--wait <s>]');
    expect(s).toEqual(new Map([['run', new Set(['--duration', '--json'])], ['kill', new Set(['--wait'])]]));
  });
});

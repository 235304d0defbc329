/**
 * `squall init` and `squall run --typecheck`, without npm: the files a new
 * project gets, what init refuses, and the type check's answers. The whole
 * path with a packed tarball and npm installs is test/package/tarball.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initProject, STARTER_FILES } from '../../src/cli/init.ts';
import { typecheckModule, typeErrors } from '../../src/cli/typecheck.ts';
import { ROOT, runCli } from './cli.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'squall-init-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('squall init', () => {
  it('writes a project into a new directory: ESM package.json with squall, vitest and typescript, tsconfig, starter, test, README', () => {
    const root = join(tempDir(), 'My Topologies');
    expect(initProject(root)).toEqual(['package.json', ...STARTER_FILES]);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: 'my-topologies',
      type: 'module',
      scripts: { start: 'squall run topologies/hello.ts', test: 'vitest run', typecheck: 'tsc --noEmit' },
      dependencies: { squall: `^${ours.version}` },
      devDependencies: { vitest: ours.devDependencies.vitest, typescript: ours.devDependencies.typescript, '@types/node': ours.devDependencies['@types/node'] },
    });
    for (const f of STARTER_FILES) expect(existsSync(join(root, f)), f).toBe(true);
    expect(readFileSync(join(root, 'topologies/hello.ts'), 'utf8')).toContain("from 'squall'");
    expect(readFileSync(join(root, 'test/hello.test.ts'), 'utf8')).toContain("from 'squall/testing'");
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('npm test');
  });

  it('updates the package.json npm init -y wrote: type module, its scripts and dependencies; keeps the rest', () => {
    const root = tempDir();
    const npmInit = {
      name: 'app', version: '1.0.0', description: '', main: 'index.js',
      scripts: { test: 'echo "Error: no test specified" && exit 1', lint: 'eslint .' },
      keywords: [], author: '', license: 'ISC', type: 'commonjs',
    };
    writeFileSync(join(root, 'package.json'), JSON.stringify(npmInit, null, 2));
    mkdirSync(join(root, '.git'));
    initProject(root);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'app', version: '1.0.0', main: 'index.js', license: 'ISC', type: 'module' });
    expect(pkg.scripts).toEqual({ test: 'vitest run', lint: 'eslint .', start: 'squall run topologies/hello.ts', typecheck: 'tsc --noEmit' });
  });

  it("refuses a directory with files of the user's (E_DIR_NOT_EMPTY), and a file (E_BAD_ARGUMENT), writing nothing", () => {
    const root = tempDir();
    writeFileSync(join(root, 'notes.txt'), 'mine');
    expect(codeOf(() => initProject(root))).toBe('E_DIR_NOT_EMPTY');
    expect(existsSync(join(root, 'package.json'))).toBe(false);
    expect(codeOf(() => initProject(join(root, 'notes.txt')))).toBe('E_BAD_ARGUMENT');
    // A second init finds the first one's files.
    const again = join(tempDir(), 'p');
    initProject(again);
    expect(codeOf(() => initProject(again))).toBe('E_DIR_NOT_EMPTY');
  });

  it('the CLI: squall init <dir> prints the next steps; a non-empty dir is squall: E_DIR_NOT_EMPTY, exit 1', async () => {
    const root = join(tempDir(), 'p');
    const ok = await runCli(['init', root]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('npx squall run topologies/hello.ts');
    const again = await runCli(['init', root]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^squall: E_DIR_NOT_EMPTY: .* is not empty/);
  });
});

describe('squall run --typecheck', () => {
  /** A project folder whose node_modules is the repository's (for its TypeScript). */
  function project(files: Record<string, string>): string {
    const root = tempDir();
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    for (const [f, text] of Object.entries(files)) writeFileSync(join(root, f), text);
    return root;
  }

  it("checks the module with the project's TypeScript and tsconfig.json; errors are E_TYPE_ERRORS listing them", async () => {
    const root = project({
      'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', noEmit: true, types: [], skipLibCheck: true } }),
      'ok.ts': 'export const n: number = 1;\n',
      'bad.ts': "export const n: number = 'one';\nexport function f(x) { return x; }\n",
    });
    const ok = await typecheckModule(join(root, 'ok.ts'));
    expect(ok).toMatchObject({ errors: [], tsconfig: join(root, 'tsconfig.json') });
    expect(ok.version).toMatch(/^\d+\.\d+/);
    const bad = await typecheckModule(join(root, 'bad.ts'));
    expect(bad.errors).toHaveLength(2);
    expect(bad.errors[0]).toContain("bad.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.");
    expect(bad.errors[1]).toContain('TS7006'); // strict, from the tsconfig: implicit any
    const err = typeErrors(join(root, 'bad.ts'), bad);
    expect(err.code).toBe('E_TYPE_ERRORS');
    expect(err.message).toContain('has 2 type errors');
    expect(err.message).toContain('TS2322');
  }, 60_000);

  it('with no TypeScript installed: E_TYPECHECK_UNAVAILABLE saying how to install it', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'm.ts'), 'export {};\n');
    await expect(typecheckModule(join(root, 'm.ts'))).rejects.toMatchObject({
      code: 'E_TYPECHECK_UNAVAILABLE',
      message: expect.stringContaining('npm install -D typescript'),
    });
  });
});

describe('a project linked to this clone (npm link, a file: dependency)', () => {
  it("runs one copy of squall: the project's `import 'squall'` gets the sources the CLI runs, on the main thread and in worker threads", async () => {
    const root = tempDir();
    mkdirSync(join(root, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(ROOT, join(root, 'node_modules', 'squall'), 'dir');
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    // A FailedError from another copy of squall would be reported as an error; from the same copy it fails quietly.
    writeFileSync(
      join(root, 'linked.ts'),
      `import { BasicBolt, FailedError, TopologyBuilder } from 'squall';
import type { BasicOutputCollector, OutputDeclarer, Tuple } from 'squall';
import { FixedTupleSpout } from 'squall/testing';
class Pass extends BasicBolt {
  declareOutputFields(d: OutputDeclarer) { d.declare(['x']); }
  execute(input: Tuple, out: BasicOutputCollector) {
    if (input.values[0] === 'fail') throw new FailedError('quietly');
    out.emit([input.values[0]]);
  }
}
const b = new TopologyBuilder('linked');
b.setSpout('s', () => new FixedTupleSpout([['a'], ['fail'], ['b']], { default: ['x'] }));
b.setBolt('pass', () => new Pass()).shuffleGrouping('s');
export default b.build();
`,
    );
    const cli = join(root, 'node_modules', 'squall', 'bin', 'squall.js');
    for (const threads of ['0', '1']) {
      const r = spawnSync(process.execPath, [cli, 'run', 'linked.ts', '--threads', threads, '--json'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, SQUALL_DEBUG: '', SQUALL_RUN_DIR: join(root, 'run') },
      });
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { spouts: Record<string, { acked: number; failed: number }>; errors: unknown[] };
      expect({ threads, ...report.spouts['s'], errors: report.errors }).toMatchObject({ threads, acked: 2, failed: 1, errors: [] });
    }
  }, 60_000);
});

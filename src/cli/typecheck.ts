import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SquallError } from '../errors/index.ts';

/** What `squall run --typecheck` found. */
export interface TypecheckResult {
  /** The TypeScript version that checked, or null when none could be found. */
  version: string | null;
  /** tsc's report, one diagnostic per entry (empty: no errors). */
  errors: string[];
  /** The tsconfig.json used, if any. */
  tsconfig: string | null;
}

/** The subset of the TypeScript compiler API (5.x, 6.x) this file uses. */
interface TsApi {
  version: string;
  sys: { fileExists(path: string): boolean; readFile(path: string): string | undefined; getCurrentDirectory(): string; newLine: string };
  findConfigFile(dir: string, exists: (p: string) => boolean): string | undefined;
  readConfigFile(path: string, read: (p: string) => string | undefined): { config?: unknown; error?: unknown };
  parseJsonConfigFileContent(json: unknown, host: unknown, basePath: string): { options: Record<string, unknown>; errors: unknown[] };
  createProgram(roots: string[], options: Record<string, unknown>): unknown;
  getPreEmitDiagnostics(program: unknown): readonly { category: number }[];
  formatDiagnostics(d: readonly unknown[], host: unknown): string;
  DiagnosticCategory: { Error: number };
}

/**
 * Type-check a topology module with the TypeScript its project has
 * installed (resolved from the module's folder), under the nearest
 * tsconfig.json: the module and what it imports, not the whole project.
 * TypeScript 7 (no compiler API) runs its tsc on the project instead.
 * Throws E_TYPECHECK_UNAVAILABLE when no TypeScript can be found.
 */
export async function typecheckModule(file: string): Promise<TypecheckResult> {
  const req = createRequire(file);
  let tsPath: string;
  try {
    tsPath = req.resolve('typescript');
  } catch {
    throw new SquallError({
      code: 'E_TYPECHECK_UNAVAILABLE',
      message: `type-checking needs TypeScript, and none is installed for ${file}; install it in the project (npm install -D typescript), or run without --typecheck`,
      details: { path: file },
    });
  }
  const ts = req(tsPath) as Partial<TsApi>;
  if (typeof ts.createProgram !== 'function') return runTsc(file, req);
  const api = ts as TsApi;
  const tsconfig = api.findConfigFile(dirname(file), api.sys.fileExists) ?? null;
  // With no tsconfig.json: what squall init writes, in short.
  const fallback = { compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', allowImportingTsExtensions: true, skipLibCheck: true, noEmit: true } };
  let options = api.parseJsonConfigFileContent(fallback, api.sys, dirname(file)).options;
  const host = {
    getCanonicalFileName: (f: string) => f,
    getCurrentDirectory: () => api.sys.getCurrentDirectory(),
    getNewLine: () => api.sys.newLine,
  };
  const errors: string[] = [];
  if (tsconfig !== null) {
    const read = api.readConfigFile(tsconfig, api.sys.readFile);
    if (read.error !== undefined) return { version: api.version, tsconfig, errors: [api.formatDiagnostics([read.error], host).trim()] };
    const parsed = api.parseJsonConfigFileContent(read.config, api.sys, dirname(tsconfig));
    options = parsed.options;
    for (const e of parsed.errors) {
      // "No inputs were found" and the like: the module itself is the root here.
      if ((e as { code?: number }).code !== 18003) errors.push(api.formatDiagnostics([e], host).trim());
    }
  }
  const program = api.createProgram([file], { ...options, noEmit: true });
  const diagnostics = api.getPreEmitDiagnostics(program).filter((d) => d.category === api.DiagnosticCategory.Error);
  for (const d of diagnostics) errors.push(api.formatDiagnostics([d], host).trim());
  return { version: api.version, tsconfig, errors };
}

/** TypeScript without the compiler API: its tsc, on the module's project. */
function runTsc(file: string, req: NodeRequire): Promise<TypecheckResult> {
  const pkgJson = req.resolve('typescript/package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string; bin?: Record<string, string> };
  const bin = join(dirname(pkgJson), pkg.bin?.['tsc'] ?? 'bin/tsc');
  let dir = dirname(file);
  while (!existsSync(join(dir, 'tsconfig.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const tsconfig = existsSync(join(dir, 'tsconfig.json')) ? join(dir, 'tsconfig.json') : null;
  const args = tsconfig !== null ? ['--noEmit', '--pretty', 'false', '-p', tsconfig] : ['--noEmit', '--pretty', 'false', '--strict', '--module', 'nodenext', '--allowImportingTsExtensions', '--skipLibCheck', file];
  return new Promise((resolveResult) => {
    execFile(process.execPath, [bin, ...args], { maxBuffer: 16 << 20 }, (_err, stdout) => {
      const errors = stdout.split('\n').filter((l) => /error TS\d+/.test(l));
      resolveResult({ version: pkg.version, tsconfig, errors });
    });
  });
}

/** The E_TYPE_ERRORS that `squall run --typecheck` fails with: the count, then tsc's report. */
export function typeErrors(file: string, result: TypecheckResult): SquallError {
  const n = result.errors.length;
  const shown = result.errors.slice(0, 20).join('\n');
  return new SquallError({
    code: 'E_TYPE_ERRORS',
    message:
      `${file} has ${n} type error${n === 1 ? '' : 's'} (TypeScript ${result.version}${result.tsconfig ? `, ${result.tsconfig}` : ''}); ` +
      `fix them, or run without --typecheck:\n${shown}${n > 20 ? `\n... and ${n - 20} more` : ''}`,
    details: { path: file, errors: n },
  });
}

/**
 * `squall typecheck <module>`: check the module as `run --typecheck` would,
 * print what was found, and exit 1 on type errors. With --json, one object
 * `{ module, version, tsconfig, errors }` (errors: tsc's lines).
 */
export async function typecheckCommand(modulePath: string, options: { json?: boolean }): Promise<number> {
  const file = modulePath.startsWith('file:') ? fileURLToPath(modulePath) : resolve(modulePath);
  const result = await typecheckModule(file);
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ module: modulePath, version: result.version, tsconfig: result.tsconfig, errors: result.errors })}\n`);
    return result.errors.length > 0 ? 1 : 0;
  }
  if (result.errors.length > 0) throw typeErrors(file, result);
  process.stdout.write(`type-checked ${modulePath} with TypeScript ${result.version}: no errors\n`);
  return 0;
}

/** Where the squall command lives (bin/squall.js beside src/ and dist/). */
const SQUALL_BIN = fileURLToPath(new URL('../../bin/squall.js', import.meta.url));

/**
 * On a terminal, `squall run` type-checks the module in a separate process
 * while the topology starts, and warns if it finds errors: checking takes a
 * second or more of CPU, which a run should not wait for, and a run does not
 * stop for it (--typecheck does). Returns a function that cancels the check.
 */
export function warnOnTypeErrors(modulePath: string, warn: (text: string) => void): () => void {
  const child = execFile(process.execPath, [SQUALL_BIN, 'typecheck', modulePath, '--json'], { maxBuffer: 16 << 20 }, (err, stdout) => {
    if (err === null || (err as { killed?: boolean }).killed === true) return;
    try {
      const found = JSON.parse(stdout) as { errors: string[] };
      const n = found.errors.length;
      if (n === 0) return;
      warn(
        `squall: warning: ${modulePath} has ${n} type error${n === 1 ? '' : 's'} (it runs anyway: types are stripped); ` +
          `see them with squall typecheck ${modulePath}, or refuse to run with --typecheck; the first: ${found.errors[0]}\n`,
      );
    } catch {
      // No TypeScript in the project, or no JSON: nothing to warn about.
    }
  });
  child.unref();
  return () => {
    if (child.exitCode === null) child.kill();
  };
}

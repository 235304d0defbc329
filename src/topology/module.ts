import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SquallError } from '../errors/index.ts';
import type { ErrorData } from '../errors/index.ts';
import type { Topology } from './types.ts';

/**
 * Import a topology module and return its topology. Every host (the CLI on the
 * main thread, a worker thread later) loads the same module this way, so this
 * file knows nothing of terminals or exit codes: it only throws SquallErrors.
 *
 * The module's default export is a Topology (`export default builder.build()`)
 * or a function, possibly async, that returns one.
 *
 * - no file at the path: E_MODULE_NOT_FOUND
 * - the import throws a SquallError (the builder's validation: E_DUPLICATE_ID,
 *   ...): that error, unchanged, so its code reaches the user
 * - the import throws anything else (syntax error, missing dependency):
 *   E_MODULE_LOAD with the cause's message
 * - no default export, or one that is not a topology: E_NO_TOPOLOGY_EXPORT
 * - either of the last two from a file that Node loads as CommonJS (its
 *   package.json has no "type": "module", as `npm init -y` writes it):
 *   E_MODULE_LOAD that says so, and the fix, before Node's own message
 *
 * The topology comes back with its `source` set, so worker threads can load
 * the same one.
 *
 * @param path a file path, relative to `cwd`, or a `file:` URL
 * @param cwd default `process.cwd()`
 * @param exportName the export to read (default 'default'), for modules that hold several topologies
 */
export async function loadTopologyModule(path: string, cwd: string = process.cwd(), exportName = 'default'): Promise<Topology> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: 'a topology module path is needed, such as topologies/word-count.ts' });
  }
  const file = path.startsWith('file:') ? fileURLToPath(path) : isAbsolute(path) ? path : resolve(cwd, path);
  if (!(await isFile(file))) {
    throw new SquallError({
      code: 'E_MODULE_NOT_FOUND',
      message: `no topology module at ${file}; check the path (it is resolved from ${cwd})`,
      details: { path: file },
    });
  }

  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    throw asSquallError(cause) ?? (await commonJsError(file, cause)) ?? loadError(file, 'importing it threw', cause);
  }

  if (exportName !== 'default' && namespace[exportName] === undefined) {
    throw new SquallError({
      code: 'E_NO_TOPOLOGY_EXPORT',
      message: `topology module ${file} has no export '${exportName}' (it exports ${Object.keys(namespace).map((n) => `'${n}'`).join(', ')})`,
      details: { path: file },
    });
  }
  if (exportName === 'default' && (!('default' in namespace) || namespace['default'] === undefined)) {
    const named = Object.keys(namespace);
    throw new SquallError({
      code: 'E_NO_TOPOLOGY_EXPORT',
      message:
        `topology module ${file} has no default export` +
        (named.length > 0 ? ` (it exports ${named.map((n) => `'${n}'`).join(', ')})` : '') +
        '; end it with `export default builder.build()`',
      details: { path: file },
    });
  }

  let value: unknown = namespace[exportName];
  if (typeof value === 'function') {
    try {
      value = await (value as () => unknown)();
    } catch (cause) {
      throw asSquallError(cause) ?? loadError(file, 'its default export function threw', cause);
    }
  }
  if (!isTopology(value)) {
    // A CommonJS module's `export default` arrives as `{ default: ... }`.
    const cjs = await commonJsError(file, null);
    if (cjs !== null) throw cjs;
    throw new SquallError({
      code: 'E_NO_TOPOLOGY_EXPORT',
      message: `the ${exportName === 'default' ? 'default export' : `export '${exportName}'`} of ${file} is ${describe(value)}, not a topology; use \`export default builder.build()\` (or a function that returns one)`,
      details: { path: file },
    });
  }
  return Object.freeze({ ...value, source: Object.freeze({ file, exportName }) });
}

/** A Topology as TopologyBuilder.build() makes it. */
export function isTopology(value: unknown): value is Topology {
  if (value === null || typeof value !== 'object') return false;
  const t = value as Partial<Topology>;
  return typeof t.name === 'string' && t.components instanceof Map && t.config !== null && typeof t.config === 'object';
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * A SquallError as is. One thrown by another copy of squall (the module
 * imported squall from elsewhere, so the class differs) is rebuilt from its
 * fields: policy reads the code, and the code must survive.
 */
function asSquallError(err: unknown): SquallError | null {
  if (err instanceof SquallError) return err;
  if (err instanceof Error && err.name === 'SquallError' && typeof (err as { code?: unknown }).code === 'string') {
    const e = err as Error & Partial<ErrorData>;
    return new SquallError(
      { code: e.code!, message: e.message, component: e.component, stream: e.stream, details: e.details },
      { cause: err },
    );
  }
  return null;
}

/**
 * How Node loads `file`: as CommonJS for .cts/.cjs, and for .ts/.js when the
 * nearest package.json has no `"type": "module"` (or there is none; Node 20
 * and tsx then load a .ts file as CommonJS); else as an ES module. Null when
 * it is an ES module.
 */
export async function commonJsPackageOf(file: string): Promise<{ packageJson: string | null; type: string | null } | null> {
  const ext = extname(file);
  if (ext === '.mts' || ext === '.mjs') return null;
  if (ext === '.cts' || ext === '.cjs') return { packageJson: null, type: null };
  for (let dir = dirname(file); ; ) {
    const pkg = join(dir, 'package.json');
    let text: string | null = null;
    try {
      text = await readFile(pkg, 'utf8');
    } catch {
      // none here: look further up
    }
    if (text !== null) {
      let type: unknown;
      try {
        type = (JSON.parse(text) as { type?: unknown }).type;
      } catch {
        return null; // Node reports an unreadable package.json itself
      }
      return type === 'module' ? null : { packageJson: pkg, type: typeof type === 'string' ? type : null };
    }
    const up = dirname(dir);
    if (up === dir) return { packageJson: null, type: null };
    dir = up;
  }
}

/**
 * E_MODULE_LOAD for a topology module that Node loads as CommonJS, the cause
 * and the fix first and Node's own message last; null if it is an ES module.
 */
async function commonJsError(file: string, cause: unknown): Promise<SquallError | null> {
  const cjs = await commonJsPackageOf(file);
  if (cjs === null) return null;
  const ext = extname(file);
  const mext = ext === '.js' || ext === '.cjs' ? '.mjs' : '.mts';
  const renamed = basename(file, ext) + mext;
  let why: string;
  let fix: string;
  if (ext === '.cts' || ext === '.cjs') {
    why = `its extension ${ext} makes it CommonJS`;
    fix = `name it ${renamed}`;
  } else if (cjs.packageJson === null) {
    why = 'there is no package.json above it, and without one Node loads it as CommonJS';
    fix = `add a package.json with "type": "module" to your project (or name the file ${renamed})`;
  } else {
    const says = cjs.type === null ? 'has no "type" field' : `says "type": ${JSON.stringify(cjs.type)}${cjs.type === 'commonjs' ? ' (as npm init writes it)' : ''}`;
    why = `${cjs.packageJson} ${says}`;
    fix = `set "type": "module" in ${cjs.packageJson} (or name the file ${renamed})`;
  }
  const reason = cause === null ? 'its default export arrived wrapped in a CommonJS module object' : cause instanceof Error ? cause.message : String(cause);
  return new SquallError(
    {
      code: 'E_MODULE_LOAD',
      message: `topology module ${file} is loaded as CommonJS, because ${why}; squall topologies are ES modules: ${fix}. Node said: ${reason}`,
      details: { path: file, packageJson: cjs.packageJson, type: cjs.type, commonJs: true },
    },
    cause === null ? undefined : { cause },
  );
}

function loadError(file: string, what: string, cause: unknown): SquallError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const hint = /require\(\) (of )?ES Module/i.test(reason)
    ? '; a .ts file outside a package with "type": "module" is loaded as CommonJS: name it .mts or add "type": "module" to its package.json'
    : '';
  return new SquallError(
    { code: 'E_MODULE_LOAD', message: `could not load topology module ${file}: ${what}: ${hint ? reason.replace(/\.$/, '') : reason}${hint}`, details: { path: file } },
    { cause },
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name;
    return ctor && ctor !== 'Object' ? `a ${ctor}` : 'a plain object';
  }
  return `a ${typeof value}`;
}

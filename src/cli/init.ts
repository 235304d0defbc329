import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { SquallError } from '../errors/index.ts';
import { write } from './output.ts';

export interface InitOptions {
  /** Print nothing but errors. */
  quiet?: boolean;
}

/**
 * What may already be in the directory `squall init` writes to: what
 * `npm init -y` and `git init` leave there. A package.json is updated, not
 * replaced; anything else is refused, so nothing of the user's is
 * overwritten.
 */
const ALLOWED = new Set(['package.json', 'package-lock.json', 'node_modules', '.git', '.gitignore']);

/** The files of a new project, by path relative to its directory (package.json aside). */
export const STARTER_FILES: readonly string[] = ['tsconfig.json', 'topologies/hello.ts', 'test/hello.test.ts', 'README.md', '.gitignore'];

/**
 * `squall init [dir]`: write a ready project into dir (default: the current
 * directory), which must be empty or hold only what `npm init -y` and
 * `git init` leave (a package.json is updated: "type": "module", scripts,
 * dependencies; its other fields are kept). Refuses anything else with
 * E_DIR_NOT_EMPTY. Resolves to the exit code.
 */
export async function initCommand(dir: string | undefined, options: InitOptions = {}): Promise<number> {
  const root = resolve(dir ?? '.');
  const written = initProject(root);
  if (options.quiet !== true) {
    const at = relative(process.cwd(), root) || '.';
    const cd = at === '.' ? '' : `cd ${at.includes(' ') ? JSON.stringify(at) : at} && `;
    await write(
      process.stdout,
      `wrote a squall project in ${root}:\n${written.map((f) => `  ${f}\n`).join('')}\n` +
        `next:\n  ${cd}npm install\n  npx squall run topologies/hello.ts --duration 5\n  npm test\n  npm run typecheck\n`,
    );
  }
  return 0;
}

/** Write the project; returns the paths written (package.json first). */
export function initProject(root: string): string[] {
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `${root} is a file; squall init needs a directory (it is made if missing)` });
  }
  mkdirSync(root, { recursive: true });
  const present = readdirSync(root);
  const clash = present.filter((name) => !ALLOWED.has(name));
  if (clash.length > 0) {
    throw new SquallError({
      code: 'E_DIR_NOT_EMPTY',
      message:
        `${root} is not empty (it holds ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ', ...' : ''}); ` +
        'squall init writes into a new or empty directory, or one with only a package.json from npm init; ' +
        'name a new directory: npx squall init my-topologies',
      details: { path: root, entries: clash },
    });
  }

  const squall = squallPackage();
  const pkgPath = join(root, 'package.json');
  const pkg = existsSync(pkgPath) ? readPackageJson(pkgPath) : { name: packageName(root), version: '0.1.0', private: true };
  pkg['type'] = 'module';
  pkg['scripts'] = {
    ...(pkg['scripts'] as Record<string, string> | undefined),
    start: 'squall run topologies/hello.ts',
    test: 'vitest run',
    typecheck: 'tsc --noEmit',
  };
  pkg['engines'] ??= { node: squall.engines?.['node'] ?? '>=20.12' };
  pkg['dependencies'] = { ...(pkg['dependencies'] as Record<string, string> | undefined), squall: `^${squall.version}` };
  const dev = squall.devDependencies ?? {};
  pkg['devDependencies'] = {
    ...(pkg['devDependencies'] as Record<string, string> | undefined),
    '@types/node': dev['@types/node'] ?? '^20.19.0',
    typescript: dev['typescript'] ?? '^5.9.3',
    vitest: dev['vitest'] ?? '^4.1.12',
  };
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');

  const name = typeof pkg['name'] === 'string' ? pkg['name'] : packageName(root);
  const files: Record<string, string> = {
    'tsconfig.json': TSCONFIG,
    'topologies/hello.ts': HELLO,
    'test/hello.test.ts': HELLO_TEST,
    'README.md': readme(name),
  };
  if (!present.includes('.gitignore')) files['.gitignore'] = 'node_modules/\n';
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return ['package.json', ...Object.keys(files)];
}

interface SquallPackage {
  version: string;
  engines?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** squall's own package.json: the same two levels up from src/cli/ and dist/cli/. */
function squallPackage(): SquallPackage {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as SquallPackage;
}

function readPackageJson(path: string): Record<string, unknown> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `${path} is not a JSON object; fix or remove it, then run squall init again`, details: { path } });
}

/** An npm package name from a directory name: lower case, [a-z0-9-._] only. */
function packageName(root: string): string {
  const n = basename(root).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '');
  return n || 'my-topologies';
}

// The starter project. tsconfig.json is what `tsc --init` (TypeScript 5.9)
// writes, minus its emit settings: tsx runs the sources, tsc only checks.
const TSCONFIG = `{
  // Type-check only (npm run typecheck): squall runs the .ts sources itself.
  "compilerOptions": {
    "module": "nodenext",
    "target": "es2022",
    "types": ["node"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "verbatimModuleSyntax": true,
    "isolatedModules": true,
    "noUncheckedSideEffectImports": true,
    "moduleDetection": "force",
    "allowImportingTsExtensions": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "include": ["topologies", "test"]
}
`;

const HELLO = `/**
 * A starter topology: names -> greet (shuffle grouping) -> count (fields
 * grouping on name).
 *
 *   npx squall run topologies/hello.ts --duration 5     # run it for 5 seconds
 *   npx squall run topologies/hello.ts --set names=1000 # stop once 1,000 names are done
 *   npx squall describe topologies/hello.ts             # components, streams and plan
 */
import { BasicBolt, ReplayingSpout, TopologyBuilder } from 'squall';
import type { BasicOutputCollector, Message, OutputDeclarer, SpoutOutputCollector, TopologyContext, Tuple } from 'squall';

export const NAMES = ['ada', 'grace', 'alan', 'barbara', 'edsger'];

/**
 * Emits names round-robin, each with a message id: its whole tree is
 * tracked, and replayed if any part of it fails or times out. With config
 * \`names\` > 0 (--set names=1000) it stops after that many, and the run ends
 * once they are all processed.
 */
export class NameSpout extends ReplayingSpout<number> {
  private next = 0;
  private limit = Infinity;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['name']);
  }

  override open(context: TopologyContext, collector: SpoutOutputCollector): void | Promise<void> {
    const n = Number(context.config['names'] ?? 0);
    this.limit = n > 0 ? n : Infinity;
    return super.open(context, collector);
  }

  protected nextMessage(): Message<number> | undefined {
    if (this.next >= this.limit) return undefined;
    const id = this.next++;
    return { id, values: [NAMES[id % NAMES.length]] };
  }

  protected override isExhausted(): boolean {
    return this.next >= this.limit;
  }
}

/** Greets each name. A BasicBolt anchors its emits to the input and acks it when execute returns. */
export class GreetBolt extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['name', 'greeting']);
  }

  execute(input: Tuple, out: BasicOutputCollector): void {
    const name = input.getString('name');
    out.emit([name, \`hello, \${name}\`]);
  }
}

/** Counts greetings per name: the fields grouping sends every name to one task. */
export class CountBolt extends BasicBolt {
  private readonly counts = new Map<string, number>();

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['name', 'count']);
  }

  execute(input: Tuple, out: BasicOutputCollector): void {
    const name = input.getString('name');
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    out.emit([name, n]);
  }
}

// Components are given as factories: every host (the main thread, or each
// worker thread with --threads) builds its own instances.
const builder = new TopologyBuilder('hello');
builder.setSpout('names', () => new NameSpout());
builder.setBolt('greet', () => new GreetBolt(), { parallelism: 2 }).shuffleGrouping('names');
builder.setBolt('count', () => new CountBolt(), { parallelism: 2 }).fieldsGrouping('greet', ['name']);
export default builder.build();
`;

// Interpolated so that test/architecture/layers.test.ts, reading this file's
// import lines, does not take the generated test's for one of squall's.
const STARTER_IMPORT = "'../topologies/hello.ts'";

const HELLO_TEST = `import { describe, expect, it } from 'vitest';
import { completeTopology, executeBasic, RecordingCollector, testTuple } from 'squall/testing';
import topology, { GreetBolt } from ${STARTER_IMPORT};

describe('hello topology', () => {
  it('greets every name and counts each one', async () => {
    // The spout is replaced by fixed input; the run ends once every tuple tree is done.
    const result = await completeTopology(topology, {
      mockedSources: { names: [['ada'], ['grace'], ['ada']] },
    });
    // greet has two tasks: sort, as the shuffle grouping decides which one runs each name.
    expect(result.emitted('greet').sort()).toEqual([
      ['ada', 'hello, ada'],
      ['ada', 'hello, ada'],
      ['grace', 'hello, grace'],
    ]);
    // The fields grouping sends each name to one count task, so its counts go up by one.
    expect(result.emitted('count').filter(([name]) => name === 'ada')).toEqual([
      ['ada', 1],
      ['ada', 2],
    ]);
    expect(result.errors).toEqual([]);
  });

  it('GreetBolt greets one tuple and acks it', () => {
    const bolt = new GreetBolt();
    const out = RecordingCollector.for(bolt);
    expect(executeBasic(bolt, testTuple(['ada'], { fields: ['name'] }), out)).toBe('acked');
    expect(out.emitted()).toEqual([['ada', 'hello, ada']]);
  });
});
`;

function readme(name: string): string {
  return `# ${name}

A [squall](https://www.npmjs.com/package/squall) topology project: TypeScript
modules of spouts and bolts, run by the \`squall\` command.

\`\`\`sh
npm install                                      # once
npx squall run topologies/hello.ts --duration 5  # run the starter for 5 seconds (npm start: until Ctrl-C)
npx squall describe topologies/hello.ts          # its components, streams and plan
npm test                                         # vitest: test/hello.test.ts, with squall/testing
npm run typecheck                                # tsc --noEmit (squall run strips types, it does not check them)
npx squall run topologies/hello.ts --typecheck   # check first, refuse to run with type errors
\`\`\`

- \`topologies/hello.ts\`: the starter topology (names -> greet -> count). A
  topology module's default export is a built topology.
- \`test/hello.test.ts\`: runs it on fixed input with \`completeTopology\`, and
  one bolt alone with \`testTuple\` and \`RecordingCollector\`.
- The project is ESM (\`"type": "module"\` in package.json): squall's modules
  and topology modules are ES modules.

\`squall run\` stops gracefully on SIGINT or SIGTERM: spouts stop, tuples in
flight finish (up to \`killWaitMs\`), then it prints a summary. A second
signal exits at once.
`;
}

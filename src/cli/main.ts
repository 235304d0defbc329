import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { activateCommand, deactivateCommand, killCommand, rebalanceCommand, statusCommand } from './control-commands.ts';
import { describeCommand } from './describe.ts';
import { collect } from './args.ts';
import { formatFailure, wantStack } from './fail.ts';
import { initCommand } from './init.ts';
import { runCommand } from './run.ts';
import { typecheckCommand } from './typecheck.ts';

/**
 * The `squall` command. Resolves to the exit code: 0 on success, 1 on a
 * failure (printed as `squall: <CODE>: <message>`, no stack unless --stack or
 * SQUALL_DEBUG=1). A second signal during a run exits at once with 130.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  let stack = false;
  const guard =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      const opts = args[args.length - 2] as { stack?: boolean } | undefined;
      stack = wantStack(opts?.stack);
      code = await action(...args);
    };

  const program = new Command('squall')
    .description('Run Storm-style stream topologies written in TypeScript.')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError(false)
    .configureOutput({
      // Commander's own usage errors get the same one-line shape as ours.
      outputError: (text, writeErr) => writeErr(`squall: E_BAD_ARGUMENT: ${text.replace(/^error: /, '').trimEnd()}\n`),
    });

  program
    .command('run')
    .description('run a topology until --duration ends, SIGINT/SIGTERM, `squall kill`, or (finite topologies) every spout is done')
    .argument('<module>', 'topology module (.ts or .js) whose default export is a topology')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--threads <n>', 'spread the topology over n worker threads (0, the default: all on the main thread)')
    .option('--strategy <name>', 'with --threads: how tasks are placed on threads: even or resource-aware (default even)')
    .option('--thread-heap-mb <n>', "with --threads: each thread's heap limit in MB, also resource-aware's memory budget per thread (default 1024)")
    .option('--json', 'print one JSON object on stdout at the end, and no status line')
    .addOption(new Option('--set <key=value>', 'override a config value (JSON if it parses, else a string); repeatable').argParser(collect))
    .option('--control <path>', 'the control socket for status/activate/deactivate/rebalance/kill (default: $SQUALL_RUN_DIR or <tmpdir>/squall-<uid>, /<topology>.sock)')
    .option('--metrics [port]', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics while it runs (default port 9464; 0: any free port, printed on stderr)')
    .option('--ui [port]', 'serve the live web view at http://127.0.0.1:<port>/ while it runs, with /metrics on the same port (default port 9470; 0: any free port, printed on stderr)')
    .option('--ui-host <host>', 'with --ui: the address to listen on (default 127.0.0.1; another one is reachable from other machines: a warning says so)')
    .option('--ui-read-only', 'with --ui: no controls in the page (activate, deactivate, rebalance and kill are refused)')
    .option('--trace-sample <rate>', 'trace this fraction of tuple trees (0 to 1): a timed-out traced tree names the task that held its tuple (the first trees, and those after a timeout, are always traced)')
    .option('--typecheck', "type-check the module first (with the project's TypeScript and tsconfig.json) and refuse to run it with type errors")
    .option('--state-dir <dir>', 'checkpointing topologies: where checkpoints are kept (default .squall/state/<topology>)')
    .option('--no-restore', 'checkpointing topologies: start from empty state, not from the newest checkpoint')
    .option('--drop-unknown-state', 'checkpointing topologies: drop the state of components the topology no longer has')
    .option('--skip-corrupt-state', 'checkpointing topologies: when the newest checkpoint is corrupt, restore the newest one that is whole')
    .option('--stack', 'print stack traces with errors')
    .action(guard((module: string, opts: Parameters<typeof runCommand>[1]) => runCommand(module, opts)));

  program
    .command('init')
    .description('write a new project: package.json (ESM), tsconfig.json, a starter topology, its vitest test and a README')
    .argument('[dir]', 'the directory: new, empty, or holding only a package.json from npm init (default: the current directory)')
    .option('--stack', 'print stack traces with errors')
    .action(guard((dir: string | undefined, opts: Parameters<typeof initCommand>[1]) => initCommand(dir, opts)));

  program
    .command('typecheck')
    .description("type-check a topology module and what it imports with the project's TypeScript and nearest tsconfig.json; exits 1 on type errors")
    .argument('<module>', 'topology module (.ts)')
    .option('--json', 'print one JSON object: module, version, tsconfig, errors')
    .option('--stack', 'print stack traces with errors')
    .action(guard((module: string, opts: Parameters<typeof typecheckCommand>[1]) => typecheckCommand(module, opts)));

  program
    .command('describe')
    .description("print a topology's components, streams, groupings and plan")
    .argument('<module>', 'topology module whose default export is a topology')
    .option('--threads <n>', 'plan for n worker threads (default: 1 host, the main thread)')
    .option('--strategy <name>', 'how tasks are placed on hosts: even or resource-aware (default even)')
    .option('--thread-heap-mb <n>', "resource-aware's memory budget per thread, as run's --thread-heap-mb (default 1024)")
    .option('--json', 'print JSON')
    .option('--stack', 'print stack traces with errors')
    .action(guard((module: string, opts: Parameters<typeof describeCommand>[1]) => describeCommand(module, opts)));

  const CONTROL = 'the control socket of the run (default: found by the topology name); with it, <name> may be left out';
  const NAME = 'the topology name, as `squall run` printed it';

  program
    .command('status')
    .description('show the status, threads, hosts and totals of a running topology')
    .argument('[name]', NAME)
    .option('--control <path>', CONTROL)
    .option('--json', 'print JSON')
    .option('--stack', 'print stack traces with errors')
    .action(guard((name: string | undefined, opts: Parameters<typeof statusCommand>[1]) => statusCommand(name, opts)));

  program
    .command('activate')
    .description("activate a running topology's spouts")
    .argument('[name]', NAME)
    .option('--control <path>', CONTROL)
    .option('--json', 'print JSON')
    .option('--stack', 'print stack traces with errors')
    .action(guard((name: string | undefined, opts: Parameters<typeof activateCommand>[1]) => activateCommand(name, opts)));

  program
    .command('deactivate')
    .description("deactivate a running topology's spouts: no new tuples; trees in flight finish")
    .argument('[name]', NAME)
    .option('--control <path>', CONTROL)
    .option('--json', 'print JSON')
    .option('--stack', 'print stack traces with errors')
    .action(guard((name: string | undefined, opts: Parameters<typeof deactivateCommand>[1]) => deactivateCommand(name, opts)));

  program
    .command('rebalance')
    .description('move a running topology (run with --threads) to n threads, or re-place its tasks, without losing tuples')
    .argument('[name]', NAME)
    .option('--threads <n>', 'worker threads to move to (1 to 256; default: as many as now)')
    .option('--strategy <name>', 'how tasks are placed: even or resource-aware (default: as now)')
    .option('--control <path>', CONTROL)
    .option('--json', 'print JSON')
    .option('--stack', 'print stack traces with errors')
    .action(guard((name: string | undefined, opts: Parameters<typeof rebalanceCommand>[1]) => rebalanceCommand(name, opts)));

  program
    .command('kill')
    .description('stop a running topology gracefully, as SIGTERM does, and wait until it has')
    .argument('[name]', NAME)
    .option('--wait <seconds>', "how long the run waits for trees in flight (default: the topology's killWaitMs)")
    .option('--control <path>', CONTROL)
    .option('--json', "print the run's report as JSON (what `squall run --json` prints)")
    .option('--stack', 'print stack traces with errors')
    .action(guard((name: string | undefined, opts: Parameters<typeof killCommand>[1]) => killCommand(name, opts)));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    process.stderr.write(formatFailure(err, { stack: stack || wantStack(argv.includes('--stack')) }));
    return 1;
  }
  return code;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

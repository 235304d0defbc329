import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, TIMEOUT_MS, runCli } from './cli.ts';

/** One line `squall: <CODE>: ...`, exit 1, no stack trace. */
function expectFailure(r: { code: number | null; stdout: string; stderr: string }, code: string): void {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^squall: ${code}: `));
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('squall failures', () => {
  it(
    'reports a missing module as E_MODULE_NOT_FOUND with its absolute path',
    async () => {
      const r = await runCli(['run', 'topologies/nope.ts', '--duration', '1']);
      expectFailure(r, 'E_MODULE_NOT_FOUND');
      expect(r.stderr).toContain('no topology module at /');
      expect(r.stderr).toContain('topologies/nope.ts');
    },
    TIMEOUT_MS,
  );

  it(
    'reports a module with no default export as E_NO_TOPOLOGY_EXPORT',
    async () => {
      const r = await runCli(['run', 'test/cli/fixtures/no-default.ts', '--duration', '1']);
      expectFailure(r, 'E_NO_TOPOLOGY_EXPORT');
      expect(r.stderr).toContain('export default builder.build()');
      expect(r.stderr).toContain("'topology'");
    },
    TIMEOUT_MS,
  );

  it(
    'reports a default export that is not a topology as E_NO_TOPOLOGY_EXPORT',
    async () => {
      const r = await runCli(['describe', 'test/cli/fixtures/not-a-topology.ts']);
      expectFailure(r, 'E_NO_TOPOLOGY_EXPORT');
      expect(r.stderr).toContain('a TopologyBuilder, not a topology');
    },
    TIMEOUT_MS,
  );

  it(
    "passes the builder's own code through for an invalid topology (E_DUPLICATE_ID)",
    async () => {
      const r = await runCli(['run', 'test/cli/fixtures/duplicate-ids.ts', '--duration', '1']);
      expectFailure(r, 'E_DUPLICATE_ID');
      expect(r.stderr).toContain("'split'");
    },
    TIMEOUT_MS,
  );

  it(
    'reports a module that throws while imported as E_MODULE_LOAD with the cause',
    async () => {
      const r = await runCli(['describe', 'test/cli/fixtures/throws-on-import.ts']);
      expectFailure(r, 'E_MODULE_LOAD');
      expect(r.stderr).toContain('could not reach the config service');
    },
    TIMEOUT_MS,
  );

  it(
    'tells a CommonJS project (npm init -y) why its topology does not load and what to change, before Node says its part',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'squall-cjs-'));
      try {
        // What `npm init -y` writes, "type": "commonjs" included.
        writeFileSync(
          join(dir, 'package.json'),
          JSON.stringify({ name: 'my-topology', version: '1.0.0', main: 'index.js', type: 'commonjs', scripts: {}, license: 'ISC' }, null, 2),
        );
        const squall = join(ROOT, 'src/index.ts');
        writeFileSync(
          join(dir, 'my-topology.ts'),
          [
            `import { TopologyBuilder } from ${JSON.stringify(squall)};`,
            `import { FixedTupleSpout } from ${JSON.stringify(join(ROOT, 'src/testing/index.ts'))};`,
            "const b = new TopologyBuilder('mine');",
            "b.setSpout('s', () => new FixedTupleSpout([['a']], ['w']));",
            'export default b.build();',
            '',
          ].join('\n'),
        );
        const r = await runCli(['run', join(dir, 'my-topology.ts'), '--duration', '1']);
        expectFailure(r, 'E_MODULE_LOAD');
        const pkg = join(dir, 'package.json');
        expect(r.stderr).toContain(
          `squall: E_MODULE_LOAD: topology module ${join(dir, 'my-topology.ts')} is loaded as CommonJS, because ${pkg} says "type": "commonjs" (as npm init writes it); ` +
            `squall topologies are ES modules: set "type": "module" in ${pkg} (or name the file my-topology.mts). Node said: `,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  it.each([['0'], ['-2'], ['abc'], ['Infinity']])(
    'rejects --duration %s as E_BAD_ARGUMENT',
    async (duration) => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--duration', duration]);
      expectFailure(r, 'E_BAD_ARGUMENT');
      expect(r.stderr).toContain('--duration must be a positive number');
    },
    TIMEOUT_MS,
  );

  it.each([
    [['run', 'topologies/word-count.ts', '--threads', '2', '--strategy', 'bogus', '--duration', '1']],
    [['run', 'topologies/word-count.ts', '--strategy', 'bogus', '--duration', '1']],
    [['describe', 'topologies/word-count.ts', '--threads', '2', '--strategy', 'bogus']],
  ])(
    'rejects an unknown --strategy as E_BAD_ARGUMENT (%j)',
    async (args) => {
      const r = await runCli(args);
      expectFailure(r, 'E_BAD_ARGUMENT');
      expect(r.stderr).toContain('unknown scheduling strategy "bogus"; use one of: even, resource-aware');
    },
    TIMEOUT_MS,
  );

  it(
    'rejects a bad --thread-heap-mb as E_BAD_ARGUMENT',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--threads', '2', '--thread-heap-mb', '1.5', '--duration', '1']);
      expectFailure(r, 'E_BAD_ARGUMENT');
      expect(r.stderr).toContain('--thread-heap-mb must be a whole number of MB');
    },
    TIMEOUT_MS,
  );

  it(
    'reports a resource-aware plan that does not fit as E_NO_ROOM, with the scheduler\'s message',
    async () => {
      const r = await runCli(['describe', 'topologies/word-count.ts', '--strategy', 'resource-aware', '--thread-heap-mb', '100']);
      expectFailure(r, 'E_NO_ROOM');
      expect(r.stderr).toContain('resource-aware scheduling cannot place task');
    },
    TIMEOUT_MS,
  );

  it(
    'rejects --set without key=value as E_BAD_ARGUMENT',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--set', 'ackers', '--duration', '1']);
      expectFailure(r, 'E_BAD_ARGUMENT');
      expect(r.stderr).toContain('key=value');
    },
    TIMEOUT_MS,
  );

  it(
    'reports a --set that makes the config invalid with the config code',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--set', 'maxSpoutPending=0', '--duration', '1']);
      expectFailure(r, 'E_BAD_CONFIG');
      expect(r.stderr).toContain('maxSpoutPending');
    },
    TIMEOUT_MS,
  );

  it(
    'reports unknown options in the same one-line shape',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--durration', '1']);
      expectFailure(r, 'E_BAD_ARGUMENT');
      expect(r.stderr).toContain("unknown option '--durration'");
    },
    TIMEOUT_MS,
  );

  it(
    'prints the stack with --stack or SQUALL_DEBUG=1',
    async () => {
      for (const r of [
        await runCli(['run', 'topologies/nope.ts', '--stack']),
        await runCli(['describe', 'topologies/nope.ts'], { SQUALL_DEBUG: '1' }),
      ]) {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^squall: E_MODULE_NOT_FOUND: /);
        expect(r.stderr).toMatch(/^\s+at loadTopologyModule /m);
      }
    },
    TIMEOUT_MS,
  );
});

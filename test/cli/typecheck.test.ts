/**
 * Type-checking a topology module: `squall typecheck`, and the warning
 * `squall run` gives on a terminal for a module with type errors (types are
 * stripped, so it runs anyway). The modules are written under the
 * repository, so the project's TypeScript and tsconfig.json check them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './cli.ts';

const dir = mkdtempSync(join(ROOT, 'test', 'cli', '.typecheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = join(dir, 'good.ts');
writeFileSync(
  good,
  `import { TopologyBuilder } from '../../../src/index.ts';
import { SentenceSpout } from '../../../topologies/word-count.ts';
const b = new TopologyBuilder('typed');
b.setSpout('sentences', () => new SentenceSpout());
export default b.build({ sentences: 20 });
`,
);
const bad = join(dir, 'bad.ts');
writeFileSync(
  bad,
  `import { TopologyBuilder } from '../../../src/index.ts';
import { SentenceSpout } from '../../../topologies/word-count.ts';
const count: number = 'twenty';
const b = new TopologyBuilder('untyped');
b.setSpout('sentences', () => new SentenceSpout());
export default b.build({ sentences: count });
`,
);

describe('type-checking a topology module', () => {
  it('squall typecheck passes a module without type errors', async () => {
    const r = await runCli(['typecheck', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no errors/);
  });

  it('squall typecheck fails a module with a type error with E_TYPE_ERRORS, listing it', async () => {
    const r = await runCli(['typecheck', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^squall: E_TYPE_ERRORS: .*bad\.ts has 1 type error/);
    expect(r.stderr).toMatch(/TS2322/);
    const j = await runCli(['typecheck', bad, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).errors).toHaveLength(1);
  });

  it('squall run on a terminal runs a module with type errors, and warns', () => {
    // `script` gives the run a pseudo-terminal, as a user's shell would.
    const cmd = `node bin/squall.js run ${bad} --duration 12`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, SQUALL_DEBUG: '' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/squall: warning: .*bad\.ts has 1 type error \(it runs anyway/);
    expect(r.stdout).toMatch(/trees acked/); // it ran to the end
  }, 90_000);
});

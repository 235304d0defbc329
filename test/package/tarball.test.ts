/**
 * The package as users get it (scripts/smoke-package.sh): the packed
 * tarball installed into a fresh `npm init -y` project with nothing changed
 * but what `squall init` writes; `squall run` works (main thread and worker
 * threads, and --typecheck), the generated test passes, plain node imports
 * squall and prints a topology's describe, and `tsc --noEmit` passes.
 *
 * Slow (a build, npm installs from the local cache or the registry, tsc,
 * vitest): about a minute. The script's whole output is in the failure
 * message; `npm run smoke:package` runs it alone with its output shown.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TIMEOUT_MS = 300_000;

it(
  'the packed tarball works in a fresh npm init -y project after squall init: run, its test, plain node, tsc',
  async () => {
    // Not this vitest's own variables: the project's `npm test` runs a vitest of its own.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV' && k !== 'TEST'));
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('bash', ['scripts/smoke-package.sh'], { cwd: ROOT, env: { ...env, FORCE_COLOR: '0', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output }));
    });
    expect({ code, passed: output.includes('smoke: the package works from a fresh project: passed') }, output).toEqual({ code: 0, passed: true });
  },
  TIMEOUT_MS,
);

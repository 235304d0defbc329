import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: tests spawn `node bin/squall.js` from there. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TIMEOUT_MS = 30_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves once `text` has appeared on stderr. */
  stderrContains(text: string): Promise<void>;
  done: Promise<CliResult>;
}

let spawned = 0;

/**
 * Start `node bin/squall.js ...args` in the repository root. stdout and
 * stderr are pipes, not a TTY. Each process gets its own SQUALL_RUN_DIR
 * (unless `env` names one), so runs of the same topology in parallel test
 * files do not meet on one default control socket.
 */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): Spawned {
  const runDir = join(tmpdir(), `squall-test-${process.pid}-${++spawned}`);
  const child = spawn(process.execPath, ['bin/squall.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, SQUALL_DEBUG: '', SQUALL_RUN_DIR: runDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('close', () => rmSync(runDir, { recursive: true, force: true }));
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (stderr.includes(waiters[i]!.text)) waiters.splice(i, 1)[0]!.resolve();
    }
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    stderrContains: (text) =>
      stderr.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve });
            void done.then((r) => reject(new Error(`squall exited (${r.code}) before printing '${text}'; stderr:\n${r.stderr}`)));
          }),
  };
}

export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(args, env).done;
}

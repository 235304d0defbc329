import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOffsets } from '../../topologies/durable-word-count.ts';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/cli/summary.ts';
import { TIMEOUT_MS, runCli, spawnCli } from './cli.ts';

function parseSingleJson(stdout: string): RunReport {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as RunReport;
}

describe('squall run', () => {
  it(
    'runs word-count for --duration and prints exactly one JSON object with --json',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--duration', '3', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = parseSingleJson(r.stdout);
      expect(report.topology).toBe('word-count');
      expect(report.status).toBe('killed');
      expect(report.stoppedBy).toBe('duration');
      expect(report.durationMs).toBeGreaterThanOrEqual(3000);
      expect(report.spouts['sentences']!.acked).toBeGreaterThan(0);
      expect(report.spouts['sentences']!.failed).toBe(0);
      expect(report.spouts['sentences']!.timedOut).toBe(0);
      expect(report.spouts['sentences']!.pending).toBe(0);
      expect(report.spouts['sentences']!.completeLatencyMs.p99).toBeGreaterThanOrEqual(report.spouts['sentences']!.completeLatencyMs.p50);
      expect(Object.keys(report.components).sort()).toEqual(['__acker', 'count', 'sentences', 'split']);
      expect(report.components['__acker']!.kind).toBe('acker');
      expect(report.components['split']).toMatchObject({ kind: 'bolt', tasks: 2 });
      expect(report.components['split']!.executed).toBe(report.spouts['sentences']!.acked);
      expect(report.totals.acked).toBe(report.spouts['sentences']!.acked);
      expect(report.errors).toEqual([]);
      // Local mode: no threads, one host (the main thread), stopped by the kill.
      expect(report.threads).toBe(0);
      expect(report.hosts).toHaveLength(1);
      expect(report.hosts[0]).toMatchObject({ host: 0, state: 'stopped', restarts: 0, tasks: 6, lastError: null, queued: 0 });
      expect(report.components['split']!.executeLatencyMs).toEqual(expect.any(Number));
      expect(report.components['split']!.capacity).toEqual(expect.any(Number));
    },
    TIMEOUT_MS,
  );

  it(
    'runs word-count on 2 worker threads and reports each host with --json',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--threads', '2', '--duration', '3', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = parseSingleJson(r.stdout);
      expect(report.status).toBe('killed');
      expect(report.threads).toBe(2);
      expect(report.hosts.map((h) => h.host)).toEqual([0, 1]);
      for (const h of report.hosts) {
        // After the kill every host's supervisor has been told to stop.
        expect(h).toMatchObject({ state: 'stopped', restarts: 0, lastError: null, failed: 0, queued: 0 });
        expect(h.executed).toBeGreaterThan(0);
      }
      expect(report.hosts.reduce((n, h) => n + h.tasks, 0)).toBe(6);
      expect(report.hosts.reduce((n, h) => n + h.emitted, 0)).toBe(report.totals.emitted);
      const s = report.spouts['sentences']!;
      expect(s.acked).toBeGreaterThan(0);
      expect(s.failed).toBe(0);
      expect(s.pending).toBe(0);
      expect(report.totals.failed).toBe(0);
      const split = report.components['split']!;
      expect(split.executeLatencyMs).toEqual(expect.any(Number));
      expect(split.capacity).toEqual(expect.any(Number));
      expect(split.capacity).toBeGreaterThan(0);
      expect(split.capacity).toBeLessThanOrEqual(1);
      expect(report.components['sentences']).not.toHaveProperty('capacity');
      expect(report.errors).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'reports a worker thread that crashed: restarts and last error per host, the __host error with its stack under --stack',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'squall-cli-crash-'));
      try {
        const args = ['run', 'test/fixtures/topologies/crash-once.ts', '--threads', '2', '--set', 'sentences=5000', '--set', 'crash=throw', '--set', 'messageTimeoutMs=1000', '--stack'];
        const r = await runCli([...args, '--set', `stateDir=${join(dir, 'json')}`, '--json']);
        expect(r.code).toBe(0);
        const report = parseSingleJson(r.stdout);
        expect(report.stoppedBy).toBe('done');
        // Every sentence committed by the durable spout. (Not the acked counter: when the
        // crashed thread is the spout's, what it acked since its last report dies with it,
        // and the spout started again replays what it had not committed.)
        expect(readOffsets(join(dir, 'json'))).toEqual([5000]);
        expect(report.spouts['sentences']!.acked).toBeGreaterThan(0);
        expect(report.hosts.reduce((n, h) => n + h.restarts, 0)).toBe(1);
        const crashed = report.hosts.find((h) => h.restarts === 1)!;
        expect(crashed.lastError).toContain('thrown from a timer in a bolt');
        const error = report.errors.find((e) => e.component === `__host${crashed.host}`)!;
        expect(error.message).toMatch(/^host \d crashed: crash-once: thrown from a timer in a bolt/);
        expect(error.stack).toContain('crash-once.ts');

        const text = await runCli([...args, '--set', `stateDir=${join(dir, 'text')}`]);
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/^host\s+state\s+restarts\s+tasks\s+emitted\s+executed\s+acked\s+queued\s+last error$/m);
        expect(text.stdout).toMatch(/^\s+\d\s+stopped\s+1\s+4\s.*crash-once: thrown from a timer in a bolt$/m);
        expect(text.stdout).toMatch(/^__host\d\s+-\s+\S+\s+1\s+host \d crashed: /m);
        expect(text.stdout).toMatch(/^__host\d \(host \d\):\nhost \d crashed: [^\n]*\n\s+caused by: Error: crash-once/m);
        expect(text.stdout).toMatch(/crash-once\.ts:\d+/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS * 2,
  );

  it(
    'applies --set overrides and stops by itself when every spout is done',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--set', 'sentences=300', '--set', 'maxSpoutPending=50', '--json']);
      expect(r.code).toBe(0);
      const report = parseSingleJson(r.stdout);
      expect(report.stoppedBy).toBe('done');
      expect(report.spouts['sentences']!.acked).toBe(300);
      expect(report.components['sentences']!.emitted).toBe(300);
    },
    TIMEOUT_MS,
  );

  it(
    'warns on stderr of a --set key a typo away from a built-in one, and runs with it as user config',
    async () => {
      const r = await runCli(['run', 'topologies/word-count.ts', '--set', 'sentences=50', '--set', 'maxSpoutPendng=5', '--json']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('squall: warning: --set maxSpoutPendng=5: did you mean maxSpoutPending?\n');
      expect(parseSingleJson(r.stdout).spouts['sentences']!.acked).toBe(50);
    },
    TIMEOUT_MS,
  );

  it(
    'loads a default export that is an async function',
    async () => {
      const r = await runCli(['run', 'test/cli/fixtures/async-factory.ts', '--json']);
      expect(r.code).toBe(0);
      const report = parseSingleJson(r.stdout);
      expect(report.topology).toBe('async-word-split');
      expect(report.components['split']!.tasks).toBe(3);
      expect(report.spouts['sentences']!.acked).toBe(200);
    },
    TIMEOUT_MS,
  );

  it(
    'puts errors reported by components in the report instead of crashing',
    async () => {
      const r = await runCli(['run', 'test/cli/fixtures/throwing-bolt.ts', '--duration', '1', '--json']);
      expect(r.code).toBe(0);
      const report = parseSingleJson(r.stdout);
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]).toMatchObject({ component: 'picky', message: 'even numbers are not welcome' });
      expect(report.errors[0]!.count).toBeGreaterThan(0);
      expect(report.errors[0]!.stack).toBeUndefined();
      expect(report.components['picky']!.errors).toBe(report.errors[0]!.count);
      expect(report.spouts['numbers']!.failed).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    'prints a readable summary with the component table and reported errors',
    async () => {
      const r = await runCli(['run', 'test/cli/fixtures/throwing-bolt.ts', '--duration', '1']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^component\s+kind\s+tasks\s+emitted\s+transferred\s+executed\s+acked\s+failed\s+errors\s+exec ms\s+capacity$/m);
      expect(r.stdout).toMatch(/^numbers\s+spout\s+1\s.*\s-\s+-$/m);
      expect(r.stdout).toMatch(/^picky\s+bolt\s.*\s\d+\.\d{3}\s+\d\.\d{3}$/m);
      // Local mode: no host table.
      expect(r.stdout).not.toMatch(/^host\s+state/m);
      expect(r.stdout).toMatch(/^spout\s+acked\s+failed\s+timed out\s+pending\s+p50 ms\s+p99 ms/m);
      expect(r.stdout).toContain('errors reported by components');
      expect(r.stdout).toMatch(/^picky\s+\d+\s+E_COMPONENT_THREW\s+[\d,]+\s+even numbers are not welcome$/m);
      // Not a TTY: no status line redraws on stderr.
      expect(r.stderr).not.toContain('\r');
    },
    TIMEOUT_MS,
  );

  it(
    'stops gracefully on SIGTERM, exits 0 and prints the summary',
    async () => {
      const cli = spawnCli(['run', 'topologies/word-count.ts']);
      await cli.stderrContains("running topology 'word-count'");
      await new Promise((r) => setTimeout(r, 500));
      cli.child.kill('SIGTERM');
      const r = await cli.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('stopped by a signal');
      expect(r.stdout).toMatch(/^sentences\s+spout\s+1\s/m);
      expect(r.stdout).toMatch(/^totals: .* 0 failed, 0 timed out, 0 pending$/m);
    },
    TIMEOUT_MS,
  );

  it(
    'prints JSON when stopped by SIGINT with --json',
    async () => {
      const cli = spawnCli(['run', 'topologies/word-count.ts', '--json']);
      // --json keeps stderr quiet, so give the run a moment to start.
      await new Promise((r) => setTimeout(r, 2500));
      cli.child.kill('SIGINT');
      const r = await cli.done;
      expect(r.code).toBe(0);
      const report = parseSingleJson(r.stdout);
      expect(report.stoppedBy).toBe('signal');
      expect(report.spouts['sentences']!.pending).toBe(0);
    },
    TIMEOUT_MS,
  );

  it(
    'exits at once with 130 on a second signal while the kill waits for trees in flight',
    async () => {
      const cli = spawnCli(['run', 'test/cli/fixtures/never-acks.ts']);
      await cli.stderrContains("running topology 'never-acks'");
      cli.child.kill('SIGINT');
      await cli.stderrContains('stopping: waiting');
      cli.child.kill('SIGINT');
      const r = await cli.done;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain('SIGINT again');
      expect(r.stdout).toBe('');
    },
    TIMEOUT_MS,
  );
});

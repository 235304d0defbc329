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
    },
    TIMEOUT_MS,
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
      expect(r.stdout).toMatch(/^component\s+kind\s+tasks\s+emitted\s+transferred\s+executed\s+acked\s+failed/m);
      expect(r.stdout).toMatch(/^numbers\s+spout\s+1\s/m);
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

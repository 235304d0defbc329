import { describe, expect, it } from 'vitest';
import type { TopologyDescription } from '../../src/cli/describe.ts';
import { TIMEOUT_MS, runCli } from './cli.ts';

describe('squall describe', () => {
  it(
    'lists components, streams, groupings and the plan',
    async () => {
      const r = await runCli(['describe', 'topologies/word-count.ts']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain("topology 'word-count'");
      expect(r.stdout).toMatch(/^sentences\s+spout\s+1\s/m);
      expect(r.stdout).toMatch(/^split\s+bolt\s+2\s/m);
      expect(r.stdout).toMatch(/^count\s+bolt\s+2\s/m);
      expect(r.stdout).toMatch(/^count\s+default\s+word, count$/m);
      expect(r.stdout).toMatch(/^count\s+split\/default\s+fields\(word\)$/m);
      expect(r.stdout).toMatch(/^split\s+sentences\/default\s+shuffle$/m);
      expect(r.stdout).toContain('plan: 6 tasks on 1 host');
      // Task ids follow sorted component ids, then the ackers.
      expect(r.stdout).toMatch(/^\s+1\s+count\s+0\s+0$/m);
      expect(r.stdout).toMatch(/^\s+3\s+sentences\s+0\s+0$/m);
      expect(r.stdout).toMatch(/^\s+6\s+__acker\s+0\s+0$/m);
    },
    TIMEOUT_MS,
  );

  it(
    'prints the same as JSON with --json',
    async () => {
      const r = await runCli(['describe', 'topologies/word-count.ts', '--json']);
      expect(r.code).toBe(0);
      const d = JSON.parse(r.stdout) as TopologyDescription;
      expect(d.topology).toBe('word-count');
      expect(d.config['ackers']).toBe(1);
      expect(d.components['sentences']).toMatchObject({ kind: 'spout', parallelism: 1, streams: { default: { fields: ['sentence'], direct: false } }, inputs: [] });
      expect(d.components['count']!.inputs).toEqual([{ component: 'split', stream: 'default', grouping: { type: 'fields', fields: ['word'] } }]);
      expect(d.components['split']!.inputs).toEqual([{ component: 'sentences', stream: 'default', grouping: { type: 'shuffle' } }]);
      expect(d.plan.hosts).toEqual([{ hostId: 0, tasks: [1, 2, 3, 4, 5, 6] }]);
      expect(d.plan.tasks.map((t) => t.component)).toEqual(['count', 'count', 'sentences', 'split', 'split', '__acker']);
      expect(d.plan.tasks.every((t) => t.host === 0)).toBe(true);
      expect(d.plan.strategy).toBe('even');
    },
    TIMEOUT_MS,
  );

  it(
    'shows the assignment over hosts with --threads',
    async () => {
      const r = await runCli(['describe', 'topologies/word-count.ts', '--threads', '2']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('plan: 6 tasks on 2 hosts, strategy even');
      expect(r.stdout).toMatch(/^host\s+tasks\s+cpu\s+memory MB\s+components$/m);
      expect(r.stdout).toMatch(/^\s+0\s+3\s+\d+\s+\d+\s+\S/m);
      expect(r.stdout).toMatch(/^\s+1\s+3\s+\d+\s+\d+\s+\S/m);
      // Task rows: task, component, index, host; both hosts have tasks.
      expect(r.stdout).toMatch(/^\s+\d+\s+[a-z_]+\s+\d+\s+0$/m);
      expect(r.stdout).toMatch(/^\s+\d+\s+[a-z_]+\s+\d+\s+1$/m);
    },
    TIMEOUT_MS,
  );

  it(
    'plans with --strategy resource-aware against the thread heap',
    async () => {
      const r = await runCli(['describe', 'topologies/word-count.ts', '--threads', '2', '--strategy', 'resource-aware', '--thread-heap-mb', '512', '--json']);
      expect(r.code).toBe(0);
      const d = JSON.parse(r.stdout) as TopologyDescription;
      expect(d.plan.strategy).toBe('resource-aware');
      expect(d.plan.budget).toEqual({ cpuPerHost: 100, memoryMbPerHost: 512 });
      expect(d.plan.hosts.map((h) => h.tasks.length)).toEqual([3, 3]);
      expect(new Set(d.plan.tasks.map((t) => t.host))).toEqual(new Set([0, 1]));
      for (const h of d.plan.hostResources) expect(h.memoryMb).toBeLessThanOrEqual(512);

      const text = await runCli(['describe', 'topologies/word-count.ts', '--threads', '2', '--strategy', 'resource-aware']);
      expect(text.stdout).toContain('plan: 6 tasks on 2 hosts, strategy resource-aware (per host: cpu 100, memory 1024 MB)');
    },
    TIMEOUT_MS,
  );
});

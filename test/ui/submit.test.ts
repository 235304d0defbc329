/** submit(topology, { ui, metrics }) from code: the web view and /metrics serve while the run goes, and close when it is killed. */
import { describe, expect, it } from 'vitest';
import { submit } from '../../src/index.ts';
import { build } from '../fixtures/topologies/stateful-word-count.ts';

describe('submit with ui and metrics', () => {
  it('serves the page and /metrics while the run goes, and closes both when it is killed', async () => {
    const run = await submit(build(), { config: { checkpointIntervalMs: 0, 'corpus.sentences': 100_000 }, ui: { port: 0 }, metrics: { port: 0 } });
    try {
      expect(run.ui).not.toBeNull();
      expect(run.metricsServer).not.toBeNull();
      const page = await fetch(run.ui!.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('stateful-word-count');
      const metrics = await fetch(run.metricsServer!.url);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('squall_tuples_emitted_total');
    } finally {
      await run.kill({ waitMs: 0 });
    }
    await expect(fetch(run.ui!.url)).rejects.toThrow();
    await expect(fetch(run.metricsServer!.url)).rejects.toThrow();
  });
});

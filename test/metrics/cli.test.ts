/** `squall run --metrics`: /metrics served while the run goes, closed when it ends; bad ports refused. */
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../cli/cli.ts';
import { parsePrometheusText } from './prom-text.ts';

async function emitted(url: string): Promise<number> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const f = parsePrometheusText(await res.text()).get('squall_tuples_emitted_total');
  expect(f?.type).toBe('counter');
  return f!.samples.reduce((a, s) => a + s.value, 0);
}

describe('squall run --metrics', () => {
  it('serves /metrics on 127.0.0.1 while running (--metrics 0: a free port, printed on stderr), and stops serving at the end', async () => {
    const p = spawnCli(['run', 'topologies/word-count.ts', '--metrics', '0', '--duration', '4']);
    // Listening from the spawn on: nothing printed is missed.
    let err = '';
    p.child.stderr!.on('data', (d: string) => (err += d));
    await p.stderrContains('serving Prometheus metrics at ');
    await p.stderrContains('/metrics\n');
    const found = /serving Prometheus metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/.exec(err)?.[1];
    expect(found, err).toBeDefined();
    const first = await emitted(found!);
    let second = first;
    const deadline = performance.now() + 3_000;
    while (second <= first && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      second = await emitted(found!);
    }
    expect(second).toBeGreaterThan(first);
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    await expect(fetch(found!)).rejects.toThrow();
  }, 30_000);

  it('refuses a bad port with E_BAD_ARGUMENT', async () => {
    for (const bad of ['abc', '70000']) {
      const r = await runCli(['run', 'topologies/word-count.ts', '--metrics', bad, '--duration', '1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('squall: E_BAD_ARGUMENT: --metrics takes a port');
    }
  }, 30_000);
});


/** `squall run --ui`'s flags: bad ports and flags without --ui refused, --ui-host off loopback warned about, --ui-read-only. */
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../cli/cli.ts';

describe('squall run --ui', () => {
  it('refuses a bad port, and --ui-host or --ui-read-only without --ui, with E_BAD_ARGUMENT', async () => {
    const cases: [string[], string][] = [
      [['--ui', 'abc'], 'squall: E_BAD_ARGUMENT: --ui takes a port'],
      [['--ui', '65536'], 'squall: E_BAD_ARGUMENT: --ui takes a port'],
      [['--ui-host', '0.0.0.0'], 'squall: E_BAD_ARGUMENT: --ui-host applies to the web view: add --ui [port]'],
      [['--ui-read-only'], 'squall: E_BAD_ARGUMENT: --ui-read-only applies to the web view: add --ui [port]'],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['run', 'topologies/word-count.ts', ...args, '--duration', '1'])));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(cases[i]![1]);
    });
  }, 30_000);

  it('--ui-host other than loopback warns that the page can be reached from elsewhere; --ui-read-only serves a page without controls', async () => {
    const p = spawnCli(['run', 'topologies/word-count.ts', '--ui', '0', '--ui-host', '0.0.0.0', '--ui-read-only', '--duration', '3']);
    let err = '';
    p.child.stderr!.on('data', (d: string) => (err += d));
    await p.stderrContains('serving the web view at ');
    await p.stderrContains('metrics)\n');
    expect(err).toContain('squall: warning: --ui-host 0.0.0.0: the web view can be reached from other machines');
    // Read-only: the warning does not speak of the controls' token.
    expect(err).not.toContain('token');
    const port = /serving the web view at http:\/\/0\.0\.0\.0:(\d+)\/ \(read-only;/.exec(err)?.[1];
    expect(port, err).toBeDefined();
    // Not bound to loopback, so any Host name is served.
    const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(html).toContain('<meta name="squall-read-only" content="true">');
    expect(html).toContain('<meta name="squall-token" content="">');
    const res = await fetch(`http://127.0.0.1:${port}/api/kill`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'E_UI_READ_ONLY' } });
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
  }, 30_000);
});

describe('squall run --threads 2 --ui', () => {
  it("rebalances from the page's API through the run's control, and the page state follows (threads, hosts)", async () => {
    const p = spawnCli(['run', 'test/ui/fixtures/ui-demo.ts', '--threads', '2', '--ui', '0', '--json', '--duration', '30']);
    let err = '';
    p.child.stderr!.on('data', (d: string) => (err += d));
    try {
      await p.stderrContains('metrics)\n');
      const url = /serving the web view at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err)![1]!;
      const token = /<meta name="squall-token" content="([^"]+)">/.exec(await (await fetch(url)).text())![1]!;
      const state = async (): Promise<{ status: string; threads: number; mode: string; hosts: { host: number; state: string }[] }> =>
        ((await (await fetch(`${url}api/state`)).json()) as { state: { status: string; threads: number; mode: string; hosts: { host: number; state: string }[] } }).state;
      expect(await state()).toMatchObject({ mode: 'threads', threads: 2 });
      const res = await fetch(`${url}api/rebalance`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-squall-token': token }, body: JSON.stringify({ threads: 1 }) });
      const reply = (await res.json()) as { ok: boolean; result: { threads: number; status: string } };
      expect(res.status, JSON.stringify(reply)).toBe(200);
      expect(reply.result).toMatchObject({ threads: 1, status: 'active' });
      const after = await state();
      expect(after.threads).toBe(1);
      expect(after.hosts.filter((h) => h.state === 'running')).toHaveLength(1);
      const kill = await fetch(`${url}api/kill`, { method: 'POST', headers: { 'x-squall-token': token }, body: '{}' });
      expect(kill.status).toBe(200);
      const r = await p.done;
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { stoppedBy: string; threads: number };
      expect(report).toMatchObject({ stoppedBy: 'kill', threads: 1 });
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  }, 60_000);
});

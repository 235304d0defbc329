import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlServer, parseRequest, sendRequest, socketFileName } from '../../src/cli/control.ts';
import { RunControl } from '../../src/cli/run-control.ts';
import type { ControlStatus } from '../../src/cli/run-control.ts';
import { SquallError } from '../../src/errors/index.ts';
import type { TopologyRun } from '../../src/runtime/run.ts';
import type { RunReport } from '../../src/cli/summary.ts';
import { SENTENCES } from '../../topologies/word-count.ts';
import { readOffsets, readTallies } from '../../topologies/durable-word-count.ts';
import { TIMEOUT_MS, runCli, spawnCli } from './cli.ts';
import type { Spawned } from './cli.ts';

const dirs: string[] = [];
const running: Spawned[] = [];

function tempDir(): string {
  // Short: a Unix socket path may not be longer than 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'sq-ctl-'));
  dirs.push(dir);
  return dir;
}

function start(args: readonly string[], env: Record<string, string> = {}): Spawned {
  const cli = spawnCli(args, env);
  running.push(cli);
  return cli;
}

afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.done.catch(() => {});
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns true, or fail after `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(200);
  }
}

/** One `squall status --json` on `sock`. */
async function status(sock: string): Promise<ControlStatus> {
  const r = await runCli(['status', '--control', sock, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ControlStatus;
}

/** Send raw bytes to the control socket, return the reply line parsed. */
function raw(sock: string, text: string): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const s = connect(sock);
    let data = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.end(text));
    s.on('data', (d: string) => (data += d));
    s.on('error', reject);
    s.on('close', () => {
      try {
        resolve(JSON.parse(data.trim()));
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe('control protocol pieces', () => {
  it('validates requests', () => {
    expect(parseRequest('{"op":"status"}')).toEqual({ op: 'status' });
    expect(parseRequest('{"v":1,"op":"rebalance","topology":"wc","threads":2,"strategy":"even"}')).toEqual({
      op: 'rebalance',
      topology: 'wc',
      threads: 2,
      strategy: 'even',
    });
    expect(parseRequest('{"op":"kill","waitMs":0}')).toEqual({ op: 'kill', waitMs: 0 });
    for (const bad of ['nope', '[]', '{"op":"explode"}', '{"v":2,"op":"status"}', '{"op":"kill","waitMs":-1}', '{"op":"rebalance","threads":"2"}']) {
      expect(() => parseRequest(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
    }
  });

  it('turns a topology name into a safe socket file name', () => {
    expect(socketFileName('word-count')).toBe('word-count.sock');
    expect(socketFileName('../a b/c')).toBe('__a_b_c.sock');
  });

  it('tells nothing running (E_NOT_RUNNING) from a request that got no reply (E_NO_REPLY)', async () => {
    const dir = tempDir();
    const none = join(dir, 'none.sock');
    await expect(sendRequest(none, { op: 'status' }, 'wc')).rejects.toMatchObject({
      code: 'E_NOT_RUNNING',
      message: `no topology 'wc' is running: no control socket at ${none} (if the run was started with --control, pass the same --control)`,
      details: { control: none, topology: 'wc' },
    });
    // Something that accepts and hangs up, and something that answers what squall does not speak.
    for (const [name, answer] of [['mute', ''], ['other', 'HTTP/1.1 400 Bad Request\n']] as const) {
      const path = join(dir, `${name}.sock`);
      // resume(): read the request, so the server sees the client hang up and can close.
      const server = createServer((s) => s.resume().end(answer));
      await new Promise<void>((r) => server.listen(path, r));
      try {
        await expect(sendRequest(path, { op: 'kill' }, undefined), name).rejects.toMatchObject({
          code: 'E_NO_REPLY',
          message: expect.stringContaining('check with squall status whether the request was carried out'),
          details: { control: path },
        });
      } finally {
        await new Promise((r) => server.close(r));
      }
    }
  });

  it('refuses a second server on a live control socket with E_ALREADY_RUNNING', async () => {
    const path = join(tempDir(), 'c.sock');
    const first = await ControlServer.open(path, 'wc', true, async () => 'ok');
    try {
      expect(await sendRequest(path, { op: 'status' }, 'wc')).toBe('ok');
      await expect(ControlServer.open(path, 'wc', true, async () => 'second')).rejects.toMatchObject({
        code: 'E_ALREADY_RUNNING',
        details: { topology: 'wc', control: path },
      });
    } finally {
      await first.close();
    }
    await expect(sendRequest(path, { op: 'status' }, 'wc')).rejects.toMatchObject({ code: 'E_NOT_RUNNING' });
  });
});

/** Enough of a threaded run for RunControl: a rebalance that waits for `release`, or fails and leaves it killed. */
function fakeRun(rebalance: () => Promise<void>) {
  const log: string[] = [];
  const run = {
    id: 'r1',
    mode: 'threads',
    status: 'active',
    plan: { strategy: 'even', hosts: [{ hostId: 0, tasks: [0] }] },
    activate: () => log.push('activate'),
    deactivate: () => log.push('deactivate'),
    refresh: async () => {},
    metrics: () => ({ uptimeMs: 10, components: [], hosts: [], totals: { emitted: 0, acked: 0, failed: 0, timedOut: 0, pending: 0 }, errors: [], errorsDropped: 0 }),
    hosts: () => [{ host: 0, state: 'running', restarts: 0, lastError: null, tasks: 1 }],
    rebalance: async () => {
      log.push('rebalance');
      run.status = 'rebalancing';
      await rebalance();
      if (run.status === 'rebalancing') run.status = 'active';
      log.push('rebalanced');
    },
  };
  return { run, log, asRun: run as unknown as TopologyRun };
}

describe('RunControl', () => {
  it('serves requests one at a time: a kill during a rebalance stops the run only once the rebalance is done', async () => {
    let release = () => {};
    const { run, log, asRun } = fakeRun(() => new Promise<void>((r) => (release = r)));
    const control = new RunControl('t', '/x.sock', 1024);
    control.attach(asRun);
    const rebalanced = control.handle({ op: 'rebalance', threads: 2 });
    const status = control.handle({ op: 'status' });
    let stopped = false;
    void control.stopRequested.then(() => (stopped = true));
    const killed = control.handle({ op: 'kill', waitMs: 0 });
    const activate = control.handle({ op: 'activate' });
    await sleep(20);
    expect(log).toEqual(['rebalance']);
    expect(stopped).toBe(false);
    release();
    await expect(rebalanced).resolves.toMatchObject({ status: 'active', threads: 1 });
    await expect(status).resolves.toMatchObject({ status: 'active' });
    await expect(control.stopRequested).resolves.toBe('kill');
    expect(control.killWaitMs).toBe(0);
    // Queued behind the kill: refused, the run is stopping.
    await expect(activate).rejects.toMatchObject({ code: 'E_BAD_STATE', message: "cannot activate topology 't': it is stopping (active)" });
    expect(log).toEqual(['rebalance', 'rebalanced']);
    control.stopping();
    await control.idle();
    run.status = 'killed';
    const report = { topology: 't' } as RunReport;
    control.finish(report);
    await expect(killed).resolves.toBe(report);
  });

  it('ends the run with the error of a rebalance that left the topology killed', async () => {
    const boom = new SquallError({ code: 'E_HOST_CRASHED', message: 'no host came up' });
    const holder: { run?: { status: string } } = {};
    const { run, asRun } = fakeRun(async () => {
      holder.run!.status = 'killed';
      throw boom;
    });
    holder.run = run;
    const control = new RunControl('t', '/x.sock', 1024);
    control.attach(asRun);
    await expect(control.handle({ op: 'rebalance' })).rejects.toBe(boom);
    await expect(control.stopRequested).resolves.toBe('failed');
    expect(control.failure).toBe(boom);
  });

  it('refuses requests while the topology is submitted, except kill, and checks the topology name', async () => {
    const control = new RunControl('t', '/x.sock', 1024);
    await expect(control.handle({ op: 'status' })).rejects.toMatchObject({ code: 'E_STARTING', message: "topology 't' is still starting; try again in a moment" });
    await expect(control.handle({ op: 'activate' })).rejects.toMatchObject({ code: 'E_STARTING' });
    await expect(control.handle({ op: 'status', topology: 'u' })).rejects.toMatchObject({ code: 'E_NOT_RUNNING', details: { topology: 'u', control: '/x.sock', running: 't' } });
    const killed = control.handle({ op: 'kill' });
    await expect(control.stopRequested).resolves.toBe('kill');
    control.fail(new SquallError({ code: 'E_BAD_CONFIG', message: 'bad' }));
    await expect(killed).rejects.toMatchObject({ code: 'E_BAD_CONFIG' });
  });
});

describe('squall status / activate / deactivate / rebalance / kill', () => {
  it(
    'controls a threaded durable word count through its whole life without losing a tuple',
    async () => {
      const dir = tempDir();
      const sock = join(dir, 'c.sock');
      const state = join(dir, 'state');
      // maxSpoutPending=20 keeps the pace at a few hundred sentences a second: slow enough to watch.
      const run = start([
        'run',
        'topologies/durable-word-count.ts',
        '--threads',
        '1',
        '--set',
        `stateDir=${state}`,
        '--set',
        'sentences=300000',
        '--set',
        'maxSpoutPending=20',
        '--control',
        sock,
      ]);
      await run.stderrContains(`control socket ${sock}; Ctrl-C to stop`);

      const s0 = await status(sock);
      expect(s0).toMatchObject({ topology: 'durable-word-count', status: 'active', mode: 'threads', threads: 1, strategy: 'even', control: sock, errors: 0 });
      expect(s0.pid).toBe(run.child.pid);
      expect(s0.hosts).toHaveLength(1);
      expect(s0.hosts[0]).toMatchObject({ host: 0, state: 'running', restarts: 0, tasks: 6 });

      // Readable status too.
      const text = await runCli(['status', '--control', sock]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^topology 'durable-word-count' \(run \S+, pid \d+\) active, up [\d.]+ s, on 1 thread, placed by even$/m);
      expect(text.stdout).toMatch(/^host\s+state\s+restarts\s+tasks/m);
      expect(text.stdout).toMatch(/^totals: /m);

      // deactivate: no new trees; once those in flight are done, nothing is emitted any more.
      const off = await runCli(['deactivate', 'durable-word-count', '--control', sock]);
      expect(off.stderr).toBe('');
      expect(off.code).toBe(0);
      expect(off.stdout).toBe("topology 'durable-word-count' is inactive\n");
      expect((await status(sock)).status).toBe('inactive');
      await eventually('nothing is pending', async () => (await status(sock)).totals.pending === 0);
      const stopped = (await status(sock)).totals.emitted;
      await sleep(1000);
      expect((await status(sock)).totals.emitted).toBe(stopped);

      // activate: growing again.
      const on = await runCli(['activate', 'durable-word-count', '--control', sock]);
      expect(on.code).toBe(0);
      expect(on.stdout).toBe("topology 'durable-word-count' is active\n");
      await eventually('emitting again', async () => (await status(sock)).totals.emitted > stopped);

      // rebalance onto 2 threads: the run goes on there.
      const moved = await runCli(['rebalance', 'durable-word-count', '--threads', '2', '--control', sock, '--json']);
      expect(moved.stderr).toBe('');
      expect(moved.code).toBe(0);
      expect(JSON.parse(moved.stdout)).toMatchObject({ topology: 'durable-word-count', status: 'active', threads: 2, strategy: 'even' });
      const s1 = await status(sock);
      expect(s1).toMatchObject({ status: 'active', threads: 2 });
      expect(s1.hosts.map((h) => h.host)).toEqual([0, 1]);
      for (const h of s1.hosts) expect(h).toMatchObject({ state: 'running', restarts: 0 });
      await eventually('acking on the new plan', async () => (await status(sock)).totals.acked > s1.totals.acked);

      // kill: waits for the graceful kill to finish, gets the run's report.
      const kill = await runCli(['kill', 'durable-word-count', '--control', sock, '--json']);
      expect(kill.stderr).toBe('');
      expect(kill.code).toBe(0);
      const report = JSON.parse(kill.stdout) as RunReport;
      expect(report).toMatchObject({ topology: 'durable-word-count', status: 'killed', stoppedBy: 'kill', threads: 2, errors: [] });
      expect(report.totals).toMatchObject({ failed: 0, timedOut: 0, pending: 0 });

      const r = await run.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^topology 'durable-word-count' \(run \S+\) killed after [\d.]+ s: killed by squall kill$/m);
      expect(r.stdout).toMatch(/^sentences\s+spout\s+1\s/m);
      expect(r.stdout).toMatch(/^totals: .* 0 failed, 0 timed out, 0 pending$/m);
      expect(r.stdout).toContain('no errors reported');
      expect(existsSync(sock)).toBe(false);

      // Nothing lost: the committed offset is every sentence acked (drained at deactivate, rebalance and kill),
      // and every word of those sentences was tallied.
      const offsets = readOffsets(state);
      expect(offsets).toHaveLength(1);
      expect(offsets[0]).toBeGreaterThan(0);
      expect(offsets[0]).toBe(report.spouts['sentences']!.acked);
      const expected = new Map<string, number>();
      for (let id = 0; id < offsets[0]!; id++) for (const w of SENTENCES[id % SENTENCES.length]!.split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);
      const tallies = readTallies(state);
      for (const [w, n] of expected) expect(tallies.get(w) ?? 0, w).toBeGreaterThanOrEqual(n);

      const after = await runCli(['status', 'durable-word-count', '--control', sock]);
      expect(after.code).toBe(1);
      expect(after.stdout).toBe('');
      expect(after.stderr).toBe(`squall: E_NOT_RUNNING: no topology 'durable-word-count' is running: no control socket at ${sock} (if the run was started with --control, pass the same --control)\n`);
    },
    TIMEOUT_MS * 4,
  );

  it(
    'refuses a second run on the same control socket while the first runs, and removes the socket on SIGTERM',
    async () => {
      const dir = tempDir();
      const sock = join(dir, 'c.sock');
      const first = start(['run', 'topologies/word-count.ts', '--control', sock]);
      await first.stderrContains(`control socket ${sock}`);

      const second = await runCli(['run', 'topologies/word-count.ts', '--control', sock, '--duration', '1']);
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toBe(`squall: E_ALREADY_RUNNING: topology 'word-count' is already running (control socket ${sock}); kill it (squall kill word-count) or pass --control\n`);
      // The first is untouched.
      expect((await status(sock)).status).toBe('active');

      first.child.kill('SIGTERM');
      const r = await first.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('stopped by a signal');
      expect(existsSync(sock)).toBe(false);
    },
    TIMEOUT_MS * 2,
  );

  it(
    'takes over a stale socket left by a run that died, and finds runs by name in SQUALL_RUN_DIR',
    async () => {
      const dir = tempDir();
      const runDir = join(dir, 'run');
      const env = { SQUALL_RUN_DIR: runDir };
      const sock = join(runDir, 'word-count.sock');

      const dead = start(['run', 'topologies/word-count.ts'], env);
      await dead.stderrContains(`control socket ${sock}`);
      expect(statSync(runDir).mode & 0o777).toBe(0o700);
      expect(statSync(sock).isSocket()).toBe(true);
      dead.child.kill('SIGKILL');
      await dead.done;
      expect(existsSync(sock)).toBe(true);

      const stale = await runCli(['status', 'word-count'], env);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(/^squall: E_NOT_RUNNING: no topology 'word-count' is running: nothing answers on the control socket /);
      expect(stale.stderr).toContain(sock);

      const alive = start(['run', 'topologies/word-count.ts'], env);
      await alive.stderrContains(`control socket ${sock}`);
      const s = await runCli(['status', 'word-count', '--json'], env);
      expect(s.code).toBe(0);
      expect(JSON.parse(s.stdout)).toMatchObject({ topology: 'word-count', status: 'active', mode: 'local', threads: 0, control: sock });

      const kill = await runCli(['kill', 'word-count', '--wait', '5'], env);
      expect(kill.stderr).toBe('');
      expect(kill.code).toBe(0);
      expect(kill.stdout).toMatch(/^topology 'word-count' \(run \S+\) killed after [\d.]+ s; totals: .* 0 failed, 0 timed out, 0 pending\n$/);
      const r = await alive.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('killed by squall kill');
      expect(existsSync(sock)).toBe(false);
    },
    TIMEOUT_MS * 2,
  );

  it(
    'passes the runtime E_BAD_STATE through for a rebalance in local mode, and answers bad requests without stopping',
    async () => {
      const dir = tempDir();
      const sock = join(dir, 'c.sock');
      const run = start(['run', 'topologies/word-count.ts', '--control', sock]);
      await run.stderrContains(`control socket ${sock}`);

      const rb = await runCli(['rebalance', 'word-count', '--threads', '2', '--control', sock]);
      expect(rb.code).toBe(1);
      expect(rb.stdout).toBe('');
      expect(rb.stderr).toBe("squall: E_BAD_STATE: topology 'word-count' runs in local mode on one thread; submit it with threads to rebalance\n");

      expect(await raw(sock, 'hello\n')).toEqual({ ok: false, error: { code: 'E_BAD_ARGUMENT', message: 'bad control request: not JSON' } });
      expect((await raw(sock, '{"op":"explode"}\n')).error?.code).toBe('E_BAD_ARGUMENT');
      expect((await raw(sock, '{"op":"status","topology":"other"}\n')).error).toEqual({
        code: 'E_NOT_RUNNING',
        message: `no topology 'other' is running at ${sock}: the control socket belongs to topology 'word-count'; pass that name, or the --control of the run you mean`,
      });
      // A request without the newline, the writing side closed: still answered.
      expect(await raw(sock, '{"op":"deactivate"}')).toMatchObject({ ok: true, result: { status: 'inactive' } });
      expect(await raw(sock, '{"op":"activate"}\n')).toMatchObject({ ok: true, result: { status: 'active' } });
      expect((await status(sock)).status).toBe('active');

      const kill = await runCli(['kill', '--control', sock]);
      expect(kill.code).toBe(0);
      // A second kill finds nothing.
      expect((await runCli(['kill', '--control', sock])).stderr).toMatch(/^squall: E_NOT_RUNNING: no topology is running there: no control socket at /);
      const r = await run.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('killed by squall kill');
    },
    TIMEOUT_MS * 2,
  );

  it(
    'bounds the wait for trees in flight with kill --wait; a forced exit still removes the socket',
    async () => {
      const dir = tempDir();
      const sock = join(dir, 'c.sock');
      // never-acks holds every tree, and its killWaitMs is 60 s.
      const run = start(['run', 'test/cli/fixtures/never-acks.ts', '--control', sock]);
      await run.stderrContains(`control socket ${sock}`);
      const t0 = Date.now();
      const kill = await runCli(['kill', 'never-acks', '--wait', '0.5', '--control', sock]);
      expect(kill.stderr).toBe('');
      expect(kill.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(15_000);
      const r = await run.done;
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('stopping: waiting up to 0.5 s for 10 trees in flight');
      expect(r.stdout).toMatch(/^totals: .* 10 pending$/m);

      const forced = start(['run', 'test/cli/fixtures/never-acks.ts', '--control', sock]);
      await forced.stderrContains(`control socket ${sock}`);
      forced.child.kill('SIGINT');
      await forced.stderrContains('stopping: waiting');
      // While the kill drains, status still answers; lifecycle requests are refused.
      expect((await status(sock)).status).toBe('killing');
      const activate = await runCli(['activate', '--control', sock]);
      expect(activate.stderr).toBe("squall: E_BAD_STATE: cannot activate topology 'never-acks': it is stopping (killing)\n");
      forced.child.kill('SIGINT');
      const f = await forced.done;
      expect(f.code).toBe(130);
      expect(existsSync(sock)).toBe(false);
    },
    TIMEOUT_MS * 2,
  );

  it(
    'checks arguments before connecting',
    async () => {
      const cases: [string[], RegExp][] = [
        [['status'], /^squall: E_BAD_ARGUMENT: name the topology/],
        [['rebalance', 'wc', '--threads', '0'], /^squall: E_BAD_ARGUMENT: rebalance --threads must be a whole number from 1 to 256/],
        [['rebalance', 'wc', '--strategy', 'random'], /^squall: E_BAD_ARGUMENT: unknown scheduling strategy "random"/],
        [['kill', 'wc', '--wait', '-1'], /^squall: E_BAD_ARGUMENT: --wait must be a number of seconds/],
        [['activate', 'wc', '--control', 'x'.repeat(200)], /^squall: E_BAD_ARGUMENT: control socket path .* more than the \d+ a Unix socket path may have/],
      ];
      const results = await Promise.all(cases.map(([args]) => runCli(args)));
      results.forEach((r, i) => {
        expect(r.code, cases[i]![0].join(' ')).toBe(1);
        expect(r.stderr).toMatch(cases[i]![1]);
      });
    },
    TIMEOUT_MS,
  );
});

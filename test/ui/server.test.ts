/**
 * serveUi from code, without a browser: the page and its assets, the token
 * that guards the controls, read-only, the server-sent events, and /metrics
 * on the UI port made from the page's own sample (the same numbers as the
 * page and as the JSON summary of that snapshot).
 */
import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/cli/summary.ts';
import { submit } from '../../src/runtime/index.ts';
import type { TopologyRun } from '../../src/runtime/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';
import { PAGE_JS, parseUiPort, serveUi } from '../../src/ui/index.ts';
import type { UiServer, UiState } from '../../src/ui/index.ts';
import { disagreements, figuresOfMetrics } from './agree.ts';
import type { Figures } from './agree.ts';

let run: TopologyRun | null = null;
let ui: UiServer | null = null;

afterEach(async () => {
  await ui?.close();
  ui = null;
  if (run && (run.status === 'active' || run.status === 'inactive')) await run.kill({ waitMs: 0 });
  run = null;
});

async function start(options: Parameters<typeof serveUi>[1] = {}): Promise<UiServer> {
  run = await submit(await loadTopologyModule('test/ui/fixtures/ui-demo.ts'), { config: { rate: 2000 } });
  // No sample of its own between the test's requests: the test decides when they happen.
  ui = await serveUi(run, { port: 0, intervalMs: 600_000, ...options });
  return ui;
}

async function post(server: UiServer, op: string, init: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: { ok: boolean; error?: { code: string; message: string }; result?: unknown } }> {
  const res = await fetch(`${server.url}api/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.token === undefined ? {} : { 'x-squall-token': init.token }), ...init.headers },
    body: JSON.stringify(init.body ?? {}),
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; error?: { code: string; message: string } } };
}

function figuresOfState(state: UiState): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const c of state.components) {
    const f: Figures = {};
    for (const key of ['tasks', 'emitted', 'transferred', 'acked', 'failed', 'queued', 'errors'] as const) f[key] = c[key];
    if (c.kind !== 'spout') f.executed = c.executed;
    if (c.timedOut !== null) f.timedOut = c.timedOut;
    if (c.pending !== null) f.pending = c.pending;
    if (c.executeLatencyMs !== null) f.executeLatencyMs = c.executeLatencyMs;
    if (c.capacity !== null) f.capacity = c.capacity;
    out.set(c.id, f);
  }
  return out;
}

describe('serveUi', () => {
  it('serves the page (its token in a meta tag, a strict content security policy), its script and style, on 127.0.0.1', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain(`<meta name="squall-token" content="${server.token}">`);
    expect(html).toContain('<title>squall: ui-demo</title>');
    for (const [path, type] of [['app.js', 'text/javascript'], ['app.css', 'text/css']] as const) {
      const asset = await fetch(server.url + path);
      expect(asset.headers.get('content-type')).toBe(`${type}; charset=utf-8`);
      expect((await asset.text()).length).toBeGreaterThan(1000);
    }
    // Nothing is fetched from elsewhere: every URL the page names is its own.
    expect(html.match(/(?:src|href)="[^"]*"/g)).toEqual(['href="/app.css"', 'src="/app.js"']);
    expect(PAGE_JS).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(() => new Function(PAGE_JS)).not.toThrow();
    expect((await fetch(server.url + 'nothing')).status).toBe(404);
  });

  it('refuses a control without the token, with a wrong one, from another origin or for another host name: 403 and a stable code', async () => {
    const server = await start();
    const none = await post(server, 'deactivate');
    expect(none.status).toBe(403);
    expect(none.body).toMatchObject({ ok: false, error: { code: 'E_UI_TOKEN' } });
    expect(none.body.error!.message).toContain('x-squall-token');
    const wrong = await post(server, 'deactivate', { token: 'x'.repeat(server.token.length) });
    expect([wrong.status, wrong.body.error?.code]).toEqual([403, 'E_UI_TOKEN']);
    const foreign = await post(server, 'deactivate', { token: server.token, headers: { origin: 'http://evil.example' } });
    expect([foreign.status, foreign.body.error?.code]).toEqual([403, 'E_UI_FORBIDDEN_ORIGIN']);
    // A name rebound to 127.0.0.1 by another site gets nothing, not even the page (and so not the token).
    // (fetch() will not send another Host header: node:http does.)
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      get(server.url, { headers: { host: `evil.example:${server.port}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'E_UI_FORBIDDEN_ORIGIN' } });
    expect(rebound.body).not.toContain(server.token);
    expect(run!.status).toBe('active');
  });

  it('carries out a control with the token: deactivate, activate; a bad argument is 400, a rebalance in local mode 409, an unknown control 404', async () => {
    const server = await start();
    const off = await post(server, 'deactivate', { token: server.token });
    expect(off).toEqual({ status: 200, body: { ok: true, result: { status: 'inactive' } } });
    expect(run!.status).toBe('inactive');
    expect((await post(server, 'activate', { token: server.token })).body.ok).toBe(true);
    expect(run!.status).toBe('active');
    const bad = await post(server, 'rebalance', { token: server.token, body: { threads: 0 } });
    expect([bad.status, bad.body.error?.code]).toEqual([400, 'E_BAD_ARGUMENT']);
    const local = await post(server, 'rebalance', { token: server.token, body: { threads: 2 } });
    expect([local.status, local.body.error?.code]).toEqual([409, 'E_BAD_STATE']);
    const unknown = await post(server, 'explode', { token: server.token });
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'E_UI_NOT_FOUND']);
    const notJson = await fetch(`${server.url}api/activate`, { method: 'POST', headers: { 'x-squall-token': server.token }, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('read-only: the page carries no token and every control is refused with E_UI_READ_ONLY', async () => {
    const server = await start({ readOnly: true });
    const html = await (await fetch(server.url)).text();
    expect(html).toContain('<meta name="squall-token" content="">');
    expect(html).toContain('<meta name="squall-read-only" content="true">');
    const res = await post(server, 'kill', { token: server.token });
    expect([res.status, res.body.error?.code]).toEqual([403, 'E_UI_READ_ONLY']);
    expect(run!.status).toBe('active');
  });

  it('/metrics on the UI port is made from the page state of the same sample, and the JSON summary of that snapshot says the same', async () => {
    const server = await start();
    await new Promise((r) => setTimeout(r, 300));
    // A control takes a sample once done: the latest one now has traffic and errors in it.
    await post(server, 'deactivate', { token: server.token });
    await new Promise((r) => setTimeout(r, 50));
    const api = (await (await fetch(`${server.url}api/state`)).json()) as { state: UiState };
    const res = await fetch(`${server.url}metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('x-squall-sample')).toBe(String(api.state.seq));
    const metrics = figuresOfMetrics(await res.text());
    const page = figuresOfState(api.state);
    expect(page.get('numbers')!.emitted).toBeGreaterThan(0);
    expect(page.get('flaky')!.errors).toBeGreaterThan(0);
    expect(disagreements(page, metrics)).toEqual([]);

    const { sample, state } = server.latest();
    expect(state.seq).toBe(api.state.seq);
    const report = buildReport({ topology: 'ui-demo', runId: run!.id, status: sample.status, stoppedBy: 'kill', threads: 0, hosts: sample.hosts, metrics: sample.metrics, withStacks: false });
    for (const c of state.components) {
      const r = report.components[c.id]!;
      expect({ id: c.id, kind: c.kind, tasks: c.tasks, emitted: c.emitted, transferred: c.transferred, executed: c.executed, acked: c.acked, failed: c.failed, errors: c.errors }).toEqual({ id: c.id, ...pick(r) });
      if (c.kind === 'bolt') expect([c.executeLatencyMs, c.capacity]).toEqual([r.executeLatencyMs, r.capacity]);
      if (c.kind === 'spout') {
        const s = report.spouts[c.id]!;
        expect([c.acked, c.failed, c.timedOut, c.pending, c.completeLatencyMs]).toEqual([s.acked, s.failed, s.timedOut, s.pending, { p50: s.completeLatencyMs.p50, p99: s.completeLatencyMs.p99 }]);
      }
    }
    expect(state.totals).toEqual(report.totals);
    const flaky = state.components.find((c) => c.id === 'flaky')!;
    const reported = report.errors.find((e) => e.component === 'flaky')!;
    expect(flaky.lastError).toEqual({ message: reported.message, code: reported.code, task: reported.task, count: reported.count });
    expect(state.hosts.map((h) => ({ ...h, lastError: h.lastCrash, lastCrash: undefined }))).toEqual(report.hosts.map((h) => ({ ...h, lastCrash: undefined })));
  });

  it('streams server-sent events: the layout and history once, then a state per sample', async () => {
    const server = await start({ intervalMs: 100 });
    const res = await fetch(`${server.url}events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const seqs: number[] = [];
    while (seqs.length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      seqs.length = 0;
      for (const m of text.matchAll(/event: state\ndata: (.*)\n\n/g)) seqs.push((JSON.parse(m[1]!) as UiState).seq);
    }
    await reader.cancel();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(events.slice(0, 3)).toEqual(['layout', 'points', 'state']);
    expect(seqs[1]! - seqs[0]!).toBe(1);
    expect(seqs[2]! - seqs[1]!).toBe(1);
    const layout = JSON.parse(/event: layout\ndata: (.*)\n/.exec(text)![1]!) as { graph: { nodes: { id: string; layer: number }[] }; readOnly: boolean };
    expect(layout.graph.nodes.map((n) => [n.id, n.layer])).toEqual([
      ['numbers', 0],
      ['square', 1],
      ['flaky', 2],
      ['tally', 3],
    ]);
    // No tuple values in what the page gets: the squares of the numbers emitted never appear.
    expect(text).not.toMatch(/"(n|square|values)":/);
  });

  it('refuses a bad port, or one in use, with E_BAD_ARGUMENT', async () => {
    expect(parseUiPort(true)).toBe(9470);
    expect(parseUiPort('0')).toBe(0);
    for (const bad of ['abc', '70000', '-1', '1.5']) expect(() => parseUiPort(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
    const server = await start();
    await expect(serveUi(run!, { port: server.port })).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT', message: expect.stringContaining('in use') });
    await expect(serveUi(run!, { port: 0, intervalMs: 10 })).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT' });
  });

  it('serves at most 32 live pages at once: the next gets 503 and E_UI_BUSY until one goes', async () => {
    const server = await start();
    const pages = await Promise.all(Array.from({ length: 32 }, () => fetch(`${server.url}events`)));
    expect(pages.every((p) => p.status === 200)).toBe(true);
    const busy = await fetch(`${server.url}events`);
    expect(busy.status).toBe(503);
    expect(await busy.json()).toMatchObject({ ok: false, error: { code: 'E_UI_BUSY' } });
    await pages[0]!.body!.cancel();
    let again = busy;
    for (let i = 0; i < 50 && again.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await fetch(`${server.url}events`);
    }
    expect(again.status).toBe(200);
    await Promise.all([again, ...pages.slice(1)].map((p) => p.body!.cancel()));
  });
});

function pick(r: { kind: string; tasks: number; emitted: number; transferred: number; executed: number; acked: number; failed: number; errors: number }) {
  return { kind: r.kind, tasks: r.tasks, emitted: r.emitted, transferred: r.transferred, executed: r.executed, acked: r.acked, failed: r.failed, errors: r.errors };
}

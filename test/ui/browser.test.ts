/**
 * The web view in a real headless browser: `squall run --ui 0` as a child
 * process, its page opened in Debian's Chromium (playwright-core). The
 * graph shows every component; counters rise between two moments; the bolt
 * that throws shows its last error and count; the page's numbers are those
 * of the /metrics of the same sample; a control request without the token is
 * refused (403); a dismissed confirm does nothing; deactivate from the page
 * stops the spout's emits; kill from the page ends the run, whose JSON
 * summary has the page's last numbers. The screenshot in README is made
 * here (docs/ui.png).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, spawnCli } from '../cli/cli.ts';
import type { Spawned } from '../cli/cli.ts';
import { launchChromium } from './chromium.ts';
import type { Browser } from './chromium.ts';
import { disagreements, figuresOfMetrics, SHARED_KEYS } from './agree.ts';
import type { Figures } from './agree.ts';
import { FLAKY_MESSAGE } from './fixtures/ui-demo.ts';

const COMPONENTS = ['numbers', 'square', 'flaky', 'tally'];

/** What the functions run in the page use of its DOM (the repository's TypeScript has no DOM library). */
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
declare const document: PageElement & { body: PageElement; getElementById(id: string): PageElement | null };

interface PageFigures {
  seq: number;
  status: string;
  rows: Map<string, Figures>;
  lastError: Map<string, { text: string; count: number }>;
}

/** Everything the table shows, in one go (the page renders a sample at once, so this is one sample's). */
async function read(page: Page): Promise<PageFigures> {
  const raw = await page.evaluate((keys) => {
    const rows: [string, Record<string, number>][] = [];
    const errors: [string, { text: string; count: number }][] = [];
    for (const tr of document.querySelectorAll('#components tbody tr')) {
      const id = tr.getAttribute('data-component')!;
      const f: Record<string, number> = {};
      for (const key of keys) {
        const v = tr.querySelector(`td[data-key="${key}"]`)?.getAttribute('data-value');
        if (v !== null && v !== undefined) f[key] = Number(v);
      }
      rows.push([id, f]);
      const cell = tr.querySelector('td[data-key="lastError"]')!;
      if (cell.textContent !== '') errors.push([id, { text: cell.textContent!, count: Number(cell.getAttribute('data-count')) }]);
    }
    return { seq: Number(document.body.dataset['seq']), status: document.getElementById('status')!.textContent!, rows, errors };
  }, SHARED_KEYS as readonly string[]);
  return { seq: raw.seq, status: raw.status, rows: new Map(raw.rows), lastError: new Map(raw.errors) };
}

/** Wait until the page has shown `n` more samples than `seq`. */
async function samplesAfter(page: Page, seq: number, n: number): Promise<void> {
  await page.waitForFunction((target) => Number(document.body.dataset['seq']) >= target, seq + n, { timeout: 15_000 });
}

describe('the web view in Chromium', () => {
  let browser: Browser;
  let cli: Spawned;
  let stderr = '';
  let url = '';
  let page: Page;

  beforeAll(async () => {
    // The browser first: if it cannot start, this fails with the reason (launchChromium says what to install).
    browser = await launchChromium({ width: 1440, height: 900 });
    cli = spawnCli(['run', 'test/ui/fixtures/ui-demo.ts', '--ui', '0', '--json', '--duration', '120']);
    cli.child.stderr!.on('data', (d: string) => (stderr += d));
    await cli.stderrContains('serving the web view at ');
    await cli.stderrContains('metrics)\n');
    url = /serving the web view at (http:\/\/127\.0\.0\.1:\d+\/) \(with controls/.exec(stderr)?.[1] ?? '';
    expect(url, stderr).not.toBe('');
    page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // The refused request without the token (below) is logged by the browser; nothing else may be.
      if (m.type() === 'error' && !m.text().includes('status of 403')) problems.push(m.text());
    });
    // Nothing but the page's own server is asked for anything.
    page.on('request', (r) => {
      if (!r.url().startsWith(url)) problems.push(`a request elsewhere: ${r.url()}`);
    });
    (page as unknown as { problems: string[] }).problems = problems;
    await page.goto(url);
    await page.waitForFunction(() => Number(document.body.dataset['seq']) > 0);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
  });

  it('draws every component in the graph, left to right, and every subscription as a labelled edge', async () => {
    const nodes = await page.$$eval('#graph g.node', (gs) =>
      gs.map((g) => {
        const m = /translate\(([\d.]+),([\d.]+)\)/.exec(g.getAttribute('transform')!)!;
        return { id: g.getAttribute('data-component'), x: Number(m[1]), text: g.textContent };
      }),
    );
    expect(nodes.map((n) => n.id)).toEqual(COMPONENTS);
    for (let i = 1; i < nodes.length; i++) expect(nodes[i]!.x).toBeGreaterThan(nodes[i - 1]!.x);
    expect(await page.isVisible('#graph g.node[data-component="tally"]')).toBe(true);
    const edges = await page.$$eval('#graph g.edge-group', (gs) => gs.map((g) => [g.getAttribute('data-edge'), g.querySelector('text')!.textContent]));
    expect(edges.map(([id]) => id).sort()).toEqual(['flaky->tally:default', 'numbers->square:default', 'square->flaky:default', 'square->tally:default']);
    const label = Object.fromEntries(edges) as Record<string, string>;
    expect(label['numbers->square:default']).toMatch(/^shuffle · [\d.]+k?\/s$/);
    expect(label['square->flaky:default']).toMatch(/^fields\(n\) · /);
    expect(label['square->tally:default']).toMatch(/^global · ≤/);
    expect(await page.textContent('#topology')).toBe('ui-demo');
  });

  it('shows counters rising between two moments', async () => {
    const a = await read(page);
    await samplesAfter(page, a.seq, 2);
    const b = await read(page);
    expect(b.rows.get('numbers')!.emitted).toBeGreaterThan(0);
    for (const id of COMPONENTS.slice(1)) expect(b.rows.get(id)!.executed, id).toBeGreaterThan(0);
    expect(b.rows.get('numbers')!.emitted).toBeGreaterThan(a.rows.get('numbers')!.emitted!);
    expect(b.rows.get('numbers')!.acked).toBeGreaterThan(a.rows.get('numbers')!.acked!);
    expect(b.rows.get('tally')!.executed).toBeGreaterThan(a.rows.get('tally')!.executed!);
    expect(b.status).toBe('active');
    // The header's totals and the charts follow too.
    expect(Number((await page.textContent('#total-emitted'))!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await page.locator('#chart-throughput path[data-series="emitted"]').count()).toBe(1);
  });

  it("shows the throwing bolt's last error and its count", async () => {
    await page.waitForFunction(
      (message) => {
        const cell = document.querySelector('#components tr[data-component="flaky"] td[data-key="lastError"]');
        return cell !== null && cell.textContent!.includes(message) && Number(cell.getAttribute('data-count')) > 0;
      },
      FLAKY_MESSAGE,
      { timeout: 10_000 },
    );
    const f = await read(page);
    const err = f.lastError.get('flaky')!;
    expect(err.text).toContain('E_COMPONENT_THREW');
    expect(err.count).toBeGreaterThan(0);
    expect(f.rows.get('flaky')!.errors).toBeGreaterThanOrEqual(err.count);
    expect(f.rows.get('flaky')!.failed).toBeGreaterThan(0);
    expect([...f.lastError.keys()]).toEqual(['flaky']);
    expect(await page.textContent('#graph g.node[data-component="flaky"]')).toMatch(/errors [\d,]+/);
  });

  it('shows the numbers of the /metrics of the same sample', async () => {
    let checked = false;
    for (let i = 0; i < 10 && !checked; i++) {
      const shown = await read(page);
      const res = await fetch(`${url}metrics`);
      const text = await res.text();
      // The page may be a sample behind the server for a moment: try again.
      if (res.headers.get('x-squall-sample') !== String(shown.seq)) continue;
      expect(disagreements(shown.rows, figuresOfMetrics(text))).toEqual([]);
      checked = true;
    }
    expect(checked).toBe(true);
  });

  it('refuses a control request without the token: 403 and E_UI_TOKEN, from the test and from the page itself', async () => {
    const res = await fetch(`${url}api/deactivate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ ok: false, error: { code: 'E_UI_TOKEN' } });
    const fromPage = await page.evaluate(async () => {
      const r = await fetch('/api/kill', { method: 'POST', body: '{}' });
      return { status: r.status, body: (await r.json()) as unknown };
    });
    expect(fromPage).toMatchObject({ status: 403, body: { error: { code: 'E_UI_TOKEN' } } });
    const f = await read(page);
    await samplesAfter(page, f.seq, 1);
    expect((await read(page)).status).toBe('active');
  });

  it('makes the screenshot of README (docs/ui.png)', async () => {
    // A few seconds of chart first.
    await page.waitForFunction(() => Number(document.body.dataset['seq']) >= 12, undefined, { timeout: 15_000 });
    const png = await page.screenshot({ fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1440);
    writeFileSync(join(ROOT, 'docs/ui.png'), png);
  });

  it('does nothing when the confirm dialog is dismissed', async () => {
    page.once('dialog', (d) => void d.dismiss());
    await page.click('#control-kill');
    const f = await read(page);
    await samplesAfter(page, f.seq, 1);
    expect((await read(page)).status).toBe('active');
    expect(cli.child.exitCode).toBeNull();
  });

  it("deactivate from the page (confirmed) stops the spout's emits", async () => {
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click('#control-deactivate');
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'inactive', undefined, { timeout: 10_000 });
    expect(asked).toContain('Deactivate topology ui-demo?');
    expect(await page.textContent('#message')).toContain('Deactivate: done (inactive)');
    expect(await page.isEnabled('#control-activate')).toBe(true);
    expect(await page.isDisabled('#control-deactivate')).toBe(true);
    // One more sample, then the count must hold still.
    const settled = await read(page);
    await samplesAfter(page, settled.seq, 1);
    const a = await read(page);
    await samplesAfter(page, a.seq, 3);
    const b = await read(page);
    expect(b.status).toBe('inactive');
    expect(b.rows.get('numbers')!.emitted).toBe(a.rows.get('numbers')!.emitted);
    expect(await page.textContent('#graph g.node[data-component="numbers"]')).toContain('0 emitted/s');
  });

  it("kill from the page ends the run; the page keeps its last figures, those of the run's JSON summary", async () => {
    page.once('dialog', (d) => void d.accept());
    await page.click('#control-kill');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(0);
    expect(await page.textContent('#message')).toContain('Kill: the run is stopping');
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ended', undefined, { timeout: 10_000 });
    expect(await page.isDisabled('#control-activate')).toBe(true);
    const report = JSON.parse(r.stdout) as {
      stoppedBy: string;
      components: Record<string, { tasks: number; emitted: number; transferred: number; executed: number; acked: number; failed: number; errors: number }>;
      spouts: Record<string, { timedOut: number; pending: number }>;
    };
    expect(report.stoppedBy).toBe('kill');
    const shown = await read(page);
    for (const [id, c] of Object.entries(report.components)) {
      const row = shown.rows.get(id)!;
      expect({ id, emitted: row.emitted, transferred: row.transferred, acked: row.acked, failed: row.failed, errors: row.errors }).toEqual({
        id,
        emitted: c.emitted,
        transferred: c.transferred,
        acked: c.acked,
        failed: c.failed,
        errors: c.errors,
      });
      if (id !== 'numbers') expect([id, row.executed]).toEqual([id, c.executed]);
    }
    expect([shown.rows.get('numbers')!.timedOut, shown.rows.get('numbers')!.pending]).toEqual([report.spouts['numbers']!.timedOut, report.spouts['numbers']!.pending]);
    expect((page as unknown as { problems: string[] }).problems).toEqual([]);
  });
});

/**
 * The cost of watching: the acked word count of `wordcount` (local mode,
 * realistic corpus) while the web view and Prometheus metrics are served
 * (`squall run --ui --metrics`: serveUi and serveMetrics on free ports), a
 * page is open on the web view in a real headless Chromium (Debian's, driven
 * by playwright-core, as the browser test does), and /metrics is scraped once
 * a second. Compared with `wordcount` acked, local, of the same run
 * (run.ts prints the ratio; the target is 0.97).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import topology from '../../topologies/word-count.ts';
import { serveMetrics, serveUi, submit } from '../../src/index.ts';
import { cpuMark, cpuSince } from '../cpu.ts';
import type { Window } from '../measure.ts';
import { p99Ms, rate } from '../measure.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { rssMb } from '../result.ts';
import { wordcountConfig } from './wordcount.ts';

const CHROMIUM = process.env['SQUALL_CHROMIUM'] ?? '/usr/bin/chromium';

export async function wordcountObserved(options: BenchOptions): Promise<BenchResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} for the page: apt-get install -y --no-install-recommends chromium, or set SQUALL_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'squall-bench-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const run = await submit(topology, { config: wordcountConfig(true) });
  const ui = await serveUi(run, { port: 0 });
  const metrics = await serveMetrics(run, { port: 0 });
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      await (await fetch(metrics.url)).text();
      await sleep(1000);
    }
  })();
  try {
    const page = await browser.newPage();
    await page.goto(ui.url);
    await page.waitForFunction('Number(document.body.dataset.seq) > 0');
    await sleep(options.warmupSeconds * 1000);
    const start = run.metrics();
    const t0 = performance.now();
    const mark = cpuMark();
    await sleep(options.seconds * 1000);
    const end = run.metrics();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSince(mark);
    const w: Window = { start, end, seconds, rssMb: rssMb(), cpu };
    // The page kept up: it shows a sample of the window's last seconds.
    const seq = Number(await page.evaluate('document.body.dataset.seq'));
    if (seq < ui.latest().sample.seq - 2) throw new Error(`the page fell behind: it shows sample ${seq} of ${ui.latest().sample.seq}`);
    if (end.errors.length > 0) throw new Error(`word-count: component '${end.errors[0]!.component}' reported ${end.errors[0]!.message}`);
    return { bench: 'wordcount-observed', mode: 'local', threads: 1, acking: true, tuplesPerSec: rate(w, 'sentences', 'acked'), p99Ms: p99Ms(w, 'sentences'), rssMb: w.rssMb, cpu };
  } finally {
    scraping = false;
    await scraper.catch(() => {});
    await browser.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    await ui.close();
    await metrics.close();
    await run.kill({ waitMs: 2000 });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

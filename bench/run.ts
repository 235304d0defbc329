/**
 * squall's benchmarks: `npm run bench` prints a table, `npm run -s bench -- --json`
 * one JSON object per line. Each benchmark runs in a child process of its
 * own (bench/one.ts); this parent only starts them, one after another, and
 * prints what they report. See bench/README.md for how to read the figures.
 *
 * Options: --seconds N (measured window per benchmark, default 5),
 * --warmup N (seconds run first and left out, default 1), --only NAME, --json.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { positiveSeconds } from './args.ts';
import type { BenchCase } from './cases.ts';
import { CASES, NAMES } from './cases.ts';
import type { BenchResult } from './result.ts';
import { round } from './result.ts';

const ONE = fileURLToPath(new URL('./one.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The issue's target for wordcount over the bare loop. */
const TARGET_RATIO = 0.5;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const seconds = positiveSeconds('--seconds', values.seconds!);
const warmup = positiveSeconds('--warmup', values.warmup!, true);
if (values.only !== undefined && !NAMES.includes(values.only)) {
  process.stderr.write(`--only '${values.only}' names no benchmark; known: ${NAMES.join(', ')}\n`);
  process.exit(2);
}
const cases = CASES.filter((c) => values.only === undefined || c.name === values.only);

const results: { c: BenchCase; r: BenchResult }[] = [];
let failures = 0;
for (const c of cases) {
  if (!values.json) process.stderr.write(`running ${label(c)} (${warmup} s warm-up + ${seconds} s)...\n`);
  try {
    const r = await runChild(c);
    results.push({ c, r });
    if (values.json) process.stdout.write(`${jsonLine(r)}\n`);
  } catch (err) {
    failures++;
    process.stderr.write(`${label(c)} failed: ${(err as Error).message}\n`);
  }
}

const wc = results.find((x) => x.r.bench === 'wordcount')?.r;
const bare = results.find((x) => x.r.bench === 'wordcount-bare-loop')?.r;
const ratio = wc !== undefined && bare !== undefined && bare.tuplesPerSec > 0 ? round(wc.tuplesPerSec / bare.tuplesPerSec, 3) : undefined;

if (values.json) {
  if (ratio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', wordcountVsBareLoop: ratio })}\n`);
} else {
  printTable();
  if (ratio !== undefined) {
    const verdict = ratio >= TARGET_RATIO ? 'meets' : 'below';
    process.stdout.write(`\nwordcount / bare loop = ${ratio} (${verdict} the target of ${TARGET_RATIO}; both measured in this run)\n`);
  }
}
process.exitCode = failures > 0 ? 1 : 0;

function label(c: BenchCase): string {
  return c.acking === undefined ? c.name : `${c.name} (acking ${c.acking})`;
}

/** Start bench/one.ts for one case and read the JSON line it prints. */
function runChild(c: BenchCase): Promise<BenchResult> {
  const args = ['--import', 'tsx', ONE, c.name, '--seconds', String(seconds), '--warmup', String(warmup)];
  if (c.acking !== undefined) args.push('--acking', String(c.acking));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`child exited with ${signal ?? `code ${code}`}`));
        return;
      }
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as BenchResult);
      } catch {
        reject(new Error(`child printed no result line (stdout: ${JSON.stringify(out.slice(-200))})`));
      }
    });
  });
}

/** The fields in a fixed order, leaving out those a benchmark does not report. */
function jsonLine(r: BenchResult): string {
  const o: Record<string, unknown> = { bench: r.bench, mode: r.mode, threads: r.threads };
  if (r.acking !== undefined) o['acking'] = r.acking;
  o['tuplesPerSec'] = r.tuplesPerSec;
  if (r.p99Ms !== undefined) o['p99Ms'] = r.p99Ms;
  o['rssMb'] = r.rssMb;
  return JSON.stringify(o);
}

function printTable(): void {
  const head = ['benchmark', 'acking', 'per second', 'p99 ms', 'RSS MB', 'counting'];
  const rows = results.map(({ c, r }) => [
    r.bench,
    r.acking === undefined ? '-' : String(r.acking),
    r.tuplesPerSec.toLocaleString('en-US'),
    r.p99Ms === undefined ? '-' : r.p99Ms.toFixed(3),
    r.rssMb.toFixed(1),
    c.unit,
  ]);
  const numeric = [false, false, true, true, true, false];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`\nsquall benchmarks: local mode, 1 thread, ${seconds} s window after ${warmup} s warm-up, one process each\n\n`);
  process.stdout.write(`${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

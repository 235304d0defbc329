/**
 * squall's benchmarks: `npm run bench` prints a table, `npm run -s bench -- --json`
 * one JSON object per line. Each benchmark runs in a child process of its
 * own (bench/one.ts); this parent only starts them, one after another, and
 * prints what they report. See bench/README.md for how to read the figures.
 * Local-mode benchmarks come first, then the worker-thread ones, then the
 * Kafka ones, which need the broker: if nothing listens on its port when the
 * first of them comes up, this starts it (scripts/kafka/up.sh) and stops it
 * at the end; if it cannot start, those benchmarks fail and say why.
 *
 * Options: --seconds N (measured window per benchmark, default 5),
 * --warmup N (seconds run first and left out, default 1), --only NAME[,NAME...],
 * --json.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { positiveSeconds } from './args.ts';
import type { Broker } from './broker.ts';
import { ensureBroker, releaseBroker } from './broker.ts';
import type { BenchCase } from './cases.ts';
import { CASES, NAMES } from './cases.ts';
import type { BenchResult } from './result.ts';
import { round } from './result.ts';

const ONE = fileURLToPath(new URL('./one.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Targets for word count (realistic corpus) over the bare loop: acked, and unacked with no acker. */
const TARGET_RATIO = 0.4;
const TARGET_UNACKED_RATIO = 0.55;
/** Target for word count (acked) on 2 worker threads over local mode. */
const TARGET_WORDCOUNT_THREADS = 1.5;
/** Target for const-null, acked, local mode: tuples executed per second. */
const TARGET_CONST_NULL_ACKED = 3_000_000;
/** Target for cpu-heavy with 2 threads over 1 (on a 2-core machine). */
const TARGET_SPEEDUP = 1.6;
/** Target for the Kafka pipeline over the bare kafkajs loop. */
const TARGET_KAFKA_RATIO = 0.8;
/** Target for word count in checkpoint mode over the same topology without checkpoints. */
const TARGET_CHECKPOINT_RATIO = 0.9;
/** Target for word count watched (web view with a page open, /metrics scraped) over the same without: the issue's. */
const TARGET_OBSERVED_RATIO = 0.97;
/** Target for word count with 1% of trees traced over the same without: the issue's. */
const TARGET_TRACED_RATIO = 0.95;
/** Target for the windowed count over the same count without windows. */
const TARGET_WINDOW_RATIO = 0.8;
/** Other processes using more than this many cores during a window make its figures suspect. */
const BUSY_CORES = 0.2;

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
const only = values.only?.split(',').map((n) => n.trim());
const unknown = only?.filter((n) => !NAMES.includes(n)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`--only '${unknown.join(',')}' names no benchmark; known: ${NAMES.join(', ')}\n`);
  process.exit(2);
}
const cases = CASES.filter((c) => only === undefined || only.includes(c.name));

const results: { c: BenchCase; r: BenchResult }[] = [];
let failures = 0;
/** The broker, once a Kafka benchmark asked for it: started here or found running, or why it is not there. */
let broker: Promise<Broker> | undefined;
for (const c of cases) {
  if (!values.json) process.stderr.write(`running ${label(c)} (${c.kafka === true ? 'one timed pass over fresh topics' : `${warmup} s warm-up + ${seconds} s`})...\n`);
  try {
    if (c.kafka === true) await (broker ??= ensureBroker());
    const r = await runChild(c);
    results.push({ c, r });
    if (values.json) process.stdout.write(`${jsonLine(r)}\n`);
  } catch (err) {
    failures++;
    process.stderr.write(`${label(c)} failed: ${(err as Error).message}\n`);
  }
}

/** A result by name and threads (0: local mode), and acking variant when given. */
const find = (bench: string, threads: number, acking?: boolean) =>
  results.find((x) => x.r.bench === bench && x.c.threads === threads && (acking === undefined || x.c.acking === acking))?.r;
const ratioOf = (a: BenchResult | undefined, b: BenchResult | undefined) =>
  a !== undefined && b !== undefined && b.tuplesPerSec > 0 ? round(a.tuplesPerSec / b.tuplesPerSec, 3) : undefined;
const bareLoop = find('wordcount-bare-loop', 0);
const ratio = ratioOf(find('wordcount', 0, true), bareLoop);
const unackedRatio = ratioOf(find('wordcount', 0, false), bareLoop);
const wordcountThreads = ratioOf(find('wordcount', 2, true), find('wordcount', 0, true));
const constNullAcked = find('const-null', 0, true)?.tuplesPerSec;
const speedup = ratioOf(find('cpu-heavy', 2), find('cpu-heavy', 1));
const kafkaRatio = ratioOf(find('kafka-pipeline', 0), find('kafka-bare-loop', 0));
const checkpointRatio = ratioOf(find('wordcount-checkpoint', 0), find('wordcount-stateful', 0));
const windowRatio = ratioOf(find('windowed-count', 0), find('keyed-count', 0));
const observedRatio = ratioOf(find('wordcount-observed', 0), find('wordcount', 0, true));
const tracedRatio = ratioOf(find('wordcount-traced', 0), find('wordcount', 0, true));

if (values.json) {
  if (ratio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', wordcountVsBareLoop: ratio })}\n`);
  if (unackedRatio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', wordcountUnackedVsBareLoop: unackedRatio })}\n`);
  if (wordcountThreads !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', wordcountThreads2VsLocal: wordcountThreads })}\n`);
  if (speedup !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', cpuHeavySpeedup2v1: speedup })}\n`);
  if (kafkaRatio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', kafkaVsBareLoop: kafkaRatio })}\n`);
  if (checkpointRatio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', checkpointVsNone: checkpointRatio })}\n`);
  if (windowRatio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', windowedVsKeyedCount: windowRatio })}\n`);
  if (observedRatio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', wordcountObservedVsPlain: observedRatio })}\n`);
  if (tracedRatio !== undefined) process.stdout.write(`${JSON.stringify({ bench: 'ratio', wordcountTracedVsPlain: tracedRatio })}\n`);
} else {
  printTable();
  if ([ratio, unackedRatio, wordcountThreads, constNullAcked, speedup, kafkaRatio, checkpointRatio, observedRatio, tracedRatio, windowRatio].some((x) => x !== undefined)) process.stdout.write('\n');
  if (tracedRatio !== undefined) {
    const verdict = tracedRatio >= TARGET_TRACED_RATIO ? 'meets' : 'below';
    process.stdout.write(`wordcount acked (local) with 1% of trees traced / untraced = ${tracedRatio} (${verdict} the target of ${TARGET_TRACED_RATIO}; both measured in this run)\n`);
  }
  if (observedRatio !== undefined) {
    const verdict = observedRatio >= TARGET_OBSERVED_RATIO ? 'meets' : 'below';
    process.stdout.write(`wordcount acked (local) watched (web view, a page open, /metrics scraped) / unwatched = ${observedRatio} (${verdict} the target of ${TARGET_OBSERVED_RATIO}; both measured in this run)\n`);
  }
  if (windowRatio !== undefined) {
    const verdict = windowRatio >= TARGET_WINDOW_RATIO ? 'meets' : 'below';
    process.stdout.write(`windowed count / keyed count without windows = ${windowRatio} (${verdict} the target of ${TARGET_WINDOW_RATIO}; both measured in this run)\n`);
  }
  if (checkpointRatio !== undefined) {
    const verdict = checkpointRatio >= TARGET_CHECKPOINT_RATIO ? 'meets' : 'below';
    process.stdout.write(`wordcount checkpoint mode / no checkpoints = ${checkpointRatio} (${verdict} the target of ${TARGET_CHECKPOINT_RATIO}; both measured in this run)\n`);
  }
  if (ratio !== undefined) {
    const verdict = ratio >= TARGET_RATIO ? 'meets' : 'below';
    process.stdout.write(`wordcount acked (local) / bare loop = ${ratio} (${verdict} the target of ${TARGET_RATIO}; both measured in this run)\n`);
  }
  if (unackedRatio !== undefined) {
    const verdict = unackedRatio >= TARGET_UNACKED_RATIO ? 'meets' : 'below';
    process.stdout.write(`wordcount unacked (local) / bare loop = ${unackedRatio} (${verdict} the target of ${TARGET_UNACKED_RATIO}; both measured in this run)\n`);
  }
  if (wordcountThreads !== undefined) {
    const verdict = wordcountThreads >= TARGET_WORDCOUNT_THREADS ? 'meets' : 'below';
    process.stdout.write(`wordcount acked, 2 threads / local = ${wordcountThreads} (${verdict} the target of ${TARGET_WORDCOUNT_THREADS}; both measured in this run)\n`);
  }
  if (constNullAcked !== undefined) {
    const verdict = constNullAcked >= TARGET_CONST_NULL_ACKED ? 'meets' : 'below';
    process.stdout.write(
      `const-null acked (local) = ${constNullAcked.toLocaleString('en-US')} tuples/s (${verdict} the target of ${TARGET_CONST_NULL_ACKED.toLocaleString('en-US')})\n`,
    );
  }
  if (speedup !== undefined) {
    const verdict = speedup >= TARGET_SPEEDUP ? 'meets' : 'below';
    process.stdout.write(`cpu-heavy, 2 threads / 1 thread = ${speedup} (${verdict} the target of ${TARGET_SPEEDUP}; both measured in this run)\n`);
  }
  if (kafkaRatio !== undefined) {
    const verdict = kafkaRatio >= TARGET_KAFKA_RATIO ? 'meets' : 'below';
    process.stdout.write(`kafka pipeline / bare kafkajs loop = ${kafkaRatio} (${verdict} the target of ${TARGET_KAFKA_RATIO}; both measured in this run)\n`);
  }
}
// Only if this run started it; a broker someone else runs is left alone.
if (broker !== undefined) await releaseBroker(await broker.catch(() => undefined));
// The Kafka benchmarks share the machine with the broker by design: its CPU is part of what they measure, not a disturbance.
const busy = results.filter((x) => notBroker(x.r) > BUSY_CORES);
if (busy.length > 0) {
  const list = busy.map((x) => `${label(x.c)}: ${round(notBroker(x.r), 2)}`).join('; ');
  process.stderr.write(`\nnote: the machine was busy: other processes (the Kafka broker left out) used more than ${BUSY_CORES} cores (of ${busy[0]!.r.cpu!.cores}) during ${list}; those figures are low and ratios involving them unreliable\n`);
}
process.exitCode = failures > 0 ? 1 : 0;

/** Cores other processes used during the window, the Kafka broker's left out when known. */
function notBroker(r: BenchResult): number {
  return Math.max(0, (r.cpu?.otherCores ?? 0) - (r.cpu?.brokerCores ?? 0));
}

function label(c: BenchCase): string {
  const where = c.threads === 0 ? '' : `, ${c.threads} thread${c.threads === 1 ? '' : 's'}`;
  return c.acking === undefined ? c.name : `${c.name} (acking ${c.acking}${where})`;
}

/** Start bench/one.ts for one case and read the JSON line it prints. */
function runChild(c: BenchCase): Promise<BenchResult> {
  const args = ['--import', 'tsx', ONE, c.name, '--threads', String(c.threads), '--seconds', String(seconds), '--warmup', String(warmup)];
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
  if (r.records !== undefined) o['records'] = r.records;
  if (r.seconds !== undefined) o['seconds'] = r.seconds;
  o['rssMb'] = r.rssMb;
  return JSON.stringify(o);
}

function printTable(): void {
  const head = ['benchmark', 'threads', 'acking', 'per second', 'p99 ms', 'RSS MB', 'cores used', 'others', 'counting'];
  const rows = results.map(({ c, r }) => [
    r.bench,
    r.mode === 'local' ? 'local' : String(r.threads),
    r.acking === undefined ? '-' : String(r.acking),
    r.tuplesPerSec.toLocaleString('en-US'),
    r.p99Ms === undefined ? '-' : r.p99Ms.toFixed(3),
    r.rssMb.toFixed(1),
    r.cpu === undefined ? '-' : r.cpu.selfCores.toFixed(2),
    r.cpu?.otherCores === undefined ? '-' : `${r.cpu.otherCores.toFixed(2)}${r.cpu.brokerCores === undefined ? '' : ` (broker ${r.cpu.brokerCores.toFixed(2)})`}`,
    c.unit,
  ]);
  const numeric = [false, true, false, true, true, true, true, true, false];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `\nsquall benchmarks: local mode (one thread) or N worker threads, ${seconds} s window after ${warmup} s warm-up, one process each\n` +
      `(p99: local mode over the whole run, threads over the window only; RSS: the whole process, workers included;\n` +
      ` cores used: this process, all threads, over the window; others: every other process on the machine;\n` +
      ` kafka-*: one pass of the same records, timed from the first consumed to the last write acked; others includes the broker)\n\n`,
  );
  process.stdout.write(`${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

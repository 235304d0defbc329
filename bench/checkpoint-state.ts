/**
 * Checkpoints of a running topology with a large keyed state (not part of
 * `npm run bench` or the tests):
 *
 *   node --import tsx bench/checkpoint-state.ts [--keys 1000000] [--stores embedded,postgres] [--deltas 10] [--delta-fraction 0.01]
 *
 * A local-mode topology: a spout emits `keys` distinct keys ("user-<i>")
 * once, a bolt (parallelism 2, fields-grouped) keeps a ValueState per key
 * (a small object). Then one full checkpoint is taken (every key is new),
 * then `deltas` rounds each change a fraction of the keys and take a
 * checkpoint (only the changed keys are written). Reported: each
 * checkpoint's duration from trigger to durable (run.checkpoint()), and the
 * time a new run takes to start restoring the last one (submit() resolving:
 * the store read, every key deserialized into the two tasks). Embedded state
 * goes to a temporary directory, PostgreSQL to 127.0.0.1:5432/test in a
 * schema of its own; both are removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { EmbeddedStore, PostgresStore, submit, TopologyBuilder } from '../src/index.ts';
import type { Bolt, OutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, StateStore, TopologyContext, Tuple, ValueState } from '../src/index.ts';

const { values: opts } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'embedded,postgres' },
    deltas: { type: 'string', default: '10' },
    'delta-fraction': { type: 'string', default: '0.01' },
  },
});
const N = Number(opts.keys);
const DELTAS = Number(opts.deltas);
const FRACTION = Number(opts['delta-fraction']);
const PG_URL = process.env['SQUALL_BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Emits key i for i below gate.allowed: first 0..N-1, then the keys of each round of changes. */
class Keys implements Spout {
  private collector!: SpoutOutputCollector;
  private i = 0;
  constructor(private readonly plan: { keys: number[]; allowed: number }) {}
  declareOutputFields(d: OutputDeclarer) {
    d.declare(['user', 'amount']);
  }
  open(_c: TopologyContext, collector: SpoutOutputCollector) {
    this.collector = collector;
  }
  nextTuple() {
    const end = Math.min(this.plan.allowed, this.plan.keys.length);
    for (let k = 0; k < 64 && this.i < end; k++, this.i++) this.collector.emit([`user-${this.plan.keys[this.i]}`, this.i % 100]);
  }
}

/** A per-user total and event count. */
class Totals implements Bolt {
  private state!: ValueState<{ n: number; total: number }>;
  executed = 0;
  declareOutputFields() {}
  prepare(context: TopologyContext, _c: OutputCollector) {
    this.state = context.state.value('totals');
  }
  execute(t: Tuple) {
    const s = this.state.get();
    this.state.set({ n: (s?.n ?? 0) + 1, total: (s?.total ?? 0) + (t.values[1] as number) });
    counter.executed++;
  }
}
const counter = { executed: 0 };

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function bench(name: string, make: () => StateStore): Promise<void> {
  const plan = { keys: Array.from({ length: N }, (_, i) => i), allowed: N };
  const b = new TopologyBuilder('checkpoint-state-bench');
  b.setSpout('keys', () => new Keys(plan));
  b.setBolt('totals', () => new Totals(), { parallelism: 2 }).fieldsGrouping('keys', ['user']);
  const topology = b.build({ ackers: 0, checkpointIntervalMs: 3_600_000, checkpointTimeoutMs: 600_000, mailboxCapacity: 4096 });
  counter.executed = 0;
  const run = await submit(topology, { state: { store: make() } });
  const wait = async (n: number) => {
    while (counter.executed < n) await new Promise((r) => setTimeout(r, 10));
  };
  await wait(N);
  let t0 = performance.now();
  await run.checkpoint();
  const full = performance.now() - t0;
  const deltas: number[] = [];
  const per = Math.round(N * FRACTION);
  for (let d = 0; d < DELTAS; d++) {
    for (let k = 0; k < per; k++) plan.keys.push(Math.floor(Math.random() * N));
    plan.allowed = plan.keys.length;
    await wait(plan.keys.length);
    t0 = performance.now();
    await run.checkpoint();
    deltas.push(performance.now() - t0);
  }
  await run.kill({ waitMs: 0, checkpoint: false });
  const heap0 = process.memoryUsage().heapUsed;
  t0 = performance.now();
  const again = await submit(topology, { state: { store: make() } });
  const restore = performance.now() - t0;
  const heap = (process.memoryUsage().heapUsed - heap0) / 1e6;
  await again.kill({ waitMs: 0, checkpoint: false });
  process.stdout.write(
    `${name.padEnd(9)} keys ${N.toLocaleString('en')}: full checkpoint ${full.toFixed(0)} ms; ${DELTAS} checkpoints of ${per.toLocaleString('en')} changes: p50 ${pct(deltas, 0.5).toFixed(0)} ms, p99 ${pct(deltas, 0.99).toFixed(0)} ms; restore (start of a new run) ${restore.toFixed(0)} ms, heap +${heap.toFixed(0)} MB\n`,
  );
}

const stores = opts.stores!.split(',');
for (const s of stores) {
  if (s === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'squall-cpbench-'));
    try {
      await bench('embedded', () => new EmbeddedStore({ dir }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (s === 'postgres') {
    const schema = `squall_cpbench_${randomBytes(4).toString('hex')}`;
    try {
      await bench('postgres', () => new PostgresStore({ topology: 'checkpoint-state-bench', schema, connection: PG_URL }));
    } finally {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  } else {
    process.stderr.write(`unknown store '${s}': embedded or postgres\n`);
    process.exit(2);
  }
}

/**
 * Drives a WindowedBolt as a bolt task does: prepare on a test context (a
 * real KeyedStateBackend on a SimulatedClock), execute with the input's key
 * set, advanceWatermark and fireProcessingTimers called by hand (what the
 * runtime does when a watermark advances or a timer falls due).
 */
import { KeyedStateBackend } from '../../src/state/index.ts';
import { prepareBolt, RecordingCollector, SimulatedClock, testTuple } from '../../src/testing/index.ts';
import type { Tuple } from '../../src/index.ts';
import { WindowedBolt } from '../../src/window/index.ts';
import { mulberry32 } from '../../topologies/corpus.ts';
import type { WindowOptions } from '../../src/window/index.ts';

export const FIELDS = ['key', 'ts', 'v'] as const;

/** A string hash, as a fields grouping's would be: only the key group depends on it. */
function hash(values: readonly unknown[]): number {
  const s = String(values[0]);
  let h = 7;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}
const SELECTOR = { fieldIndexes: [0], hash };

export interface Row {
  key: string | null;
  start: number;
  end: number;
  result: unknown;
  kind: string;
  version: number;
}

export class Driver {
  readonly clock: SimulatedClock;
  readonly inputs: Tuple[] = [];
  private constructor(
    readonly bolt: WindowedBolt<any, any, any>,
    readonly backend: KeyedStateBackend,
    readonly collector: RecordingCollector,
    clock: SimulatedClock,
  ) {
    this.clock = clock;
  }

  static async make(options: WindowOptions<any, any, any>, config: Record<string, unknown> = {}, clock = new SimulatedClock(), restoreFrom?: Driver): Promise<Driver> {
    const bolt = new WindowedBolt(options);
    const collector = RecordingCollector.for(bolt, { component: 'win' });
    let backend: KeyedStateBackend | null = null;
    const { context } = await prepareBolt(
      {
        declareOutputFields: (d) => bolt.declareOutputFields(d),
        // Restore before prepare, as the runtime does: the keyed entries wait in the backend for the state's declaration.
        prepare: (ctx, col) => {
          // The runtime's backend: withKey reaches a key not seen yet (an unkeyed window's), hashed as one string field.
          backend = new KeyedStateBackend({
            component: 'win',
            maxParallelism: 128,
            now: () => clock.now(),
            schedule: (time, fn) => clock.after(Math.max(0, time - clock.now()), fn),
            hashKey: (key) => hash([key]),
          });
          const own = backend;
          ctx = Object.create(ctx, { state: { value: own } }) as typeof ctx;
          if (restoreFrom !== undefined) {
            const full = restoreFrom.backend.snapshot(true);
            for (let i = 0; i < full.keys.length; i++) backend.restore(full.keyGroups[i]!, [full.keys[i]!], [full.values[i]!]);
          }
          bolt.prepare(ctx, col);
          own.restored$();
        },
        execute: () => {},
      },
      { clock, config, collector, componentId: 'win' },
    );
    void context;
    const b = backend as unknown as KeyedStateBackend;
    b.onTimer = (time, domain) => bolt.onTimer(time, domain);
    return new Driver(bolt, b, collector, clock);
  }

  send(key: string, ts: number, v: number): Tuple {
    const t = testTuple([key, ts, v], { fields: [...FIELDS] });
    this.inputs.push(t);
    this.backend.setInput(t, SELECTOR);
    try {
      this.bolt.execute(t);
    } finally {
      this.backend.setInput(null, null);
    }
    return t;
  }

  watermark(w: number): void {
    this.backend.advanceWatermark(w);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.backend.fireProcessingTimers();
  }

  rows(): Row[] {
    return this.collector.emitted().map(([key, start, end, result, kind, version]) => ({ key: key as string | null, start: start as number, end: end as number, result, kind: kind as string, version: version as number }));
  }

  late(): unknown[][] {
    return this.collector.emitted('late');
  }
}

/** Rows as sorted strings: firings of different keys in one watermark step have no defined order. */
export function canon(rows: readonly Row[]): string[] {
  return rows.map((r) => JSON.stringify([r.key, r.start, r.end, r.kind, r.version, r.result])).sort();
}

/** A small seeded generator: mulberry32, as the corpus uses. */
export const rng = mulberry32;

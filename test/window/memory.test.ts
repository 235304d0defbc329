/**
 * Memory: a sliding window of one hour sliding every minute, 10,000 keys,
 * 2,000,000 events over three hours of event time (out of order by up to
 * 30 s, watermark 60 s behind). The window's reported state stays within
 * keys x slices (one accumulator per key per live minute), and its
 * checkpointed bytes within keys x slices x accumulator size: never
 * elements x windows (Flink copies each element into 60 windows).
 */
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { OutputCollector } from '../../src/index.ts';
import { Tuple } from '../../src/index.ts';
import type { KeyedStateBackend } from '../../src/state/index.ts';
import { SimulatedClock, testContext, testTuple } from '../../src/testing/index.ts';
import { sliding, WindowedBolt } from '../../src/window/index.ts';
import { rng } from './driver.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe('window memory', () => {
  it('1 h sliding by 1 min, 10,000 keys, 2,000,000 events: state within keys x slices x accumulator', () => {
    const KEYS = 10_000;
    const EVENTS = 2_000_000;
    const SPAN = 3 * HOUR;
    const DISORDER = 30_000;
    const LAG = 60_000;
    const bolt = new WindowedBolt<number, number, number>({
      window: sliding(HOUR, MINUTE),
      time: { field: 'ts' },
      value: () => 1,
      reduce: (a, b) => a + b,
      limits: { maxPanes: 10_000_000 },
    });
    let emitted = 0;
    let total = 0;
    const collector: OutputCollector = {
      emit(values) {
        emitted++;
        total += values[3] as number;
      },
      emitTo() {},
      emitDirect() {},
      ack() {},
      fail() {},
      resetTimeout() {},
      reportError(e) {
        throw e;
      },
    };
    const context = testContext(bolt, { clock: new SimulatedClock(), config: { ackers: 0 }, componentId: 'win' });
    bolt.prepare(context, collector);
    const backend = context.state as KeyedStateBackend;
    backend.onTimer = (time, domain) => bolt.onTimer(time, domain);
    const source = testTuple(['k', 0], { fields: ['key', 'ts'] }).source;
    const selector = { fieldIndexes: [0], hash: (v: readonly unknown[]) => Number((v[0] as string).slice(1)) };
    const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
    const r = rng(42);
    let maxPanes = 0;
    let maxKeys = 0;
    let wm = -Infinity;
    for (let i = 0; i < EVENTS; i++) {
      const now = Math.floor((i / EVENTS) * SPAN);
      const ts = now - Math.floor(r() * DISORDER);
      const t = new Tuple([keys[Math.floor(r() * KEYS)]!, ts], source, 1);
      backend.setInput(t, selector);
      bolt.execute(t);
      if ((i & 1023) === 1023) {
        backend.setInput(null, null);
        if (now - LAG > wm) backend.advanceWatermark((wm = now - LAG));
        const s = bolt.stats();
        if (s.panes > maxPanes) maxPanes = s.panes;
        if (s.keys > maxKeys) maxKeys = s.keys;
      }
    }
    backend.setInput(null, null);
    // Live slices of a key: the 60 of its window, plus those the watermark's lag and the disorder keep open.
    const slicesPerKey = HOUR / MINUTE + Math.ceil((LAG + DISORDER) / MINUTE) + 1;
    expect(maxKeys).toBe(KEYS);
    expect(maxPanes).toBeLessThanOrEqual(KEYS * slicesPerKey);
    // It did hold an hour per key: of a key's 60 minutes, those with an event (about 1.1 events a minute per key).
    const perMinute = EVENTS / KEYS / (SPAN / MINUTE);
    expect(maxPanes).toBeGreaterThan(KEYS * (HOUR / MINUTE) * (1 - Math.exp(-perMinute)) * 0.9);
    const st = bolt.stats();
    expect(st.bufferedElements).toBe(0);
    // Bytes: a checkpoint of everything is about one number per slice, not one per element per window.
    const full = backend.snapshot(true);
    let bytes = 0;
    for (const v of full.values) bytes += v === null ? 0 : v.length;
    const accBytes = serialize(12345).length;
    expect(bytes).toBeLessThanOrEqual(KEYS * slicesPerKey * (accBytes + 16));
    // Everything out: each event counted once per window it belongs to (60), summed over every result.
    backend.advanceWatermark(SPAN + 2 * HOUR);
    expect(total).toBe(EVENTS * (HOUR / MINUTE));
    expect(emitted).toBeGreaterThan(KEYS * 200);
    expect(bolt.stats()).toMatchObject({ keys: 0, panes: 0, versions: 0 });
  }, 300_000);
});

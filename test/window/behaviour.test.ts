/**
 * What the model test does not show one by one: versions of a corrected
 * result, the late stream anchored to its input, acks held until the last
 * window fired, the timeout check at submit, limits, unkeyed windows, a
 * checkpoint restore mid-stream, a custom trigger on timers, bad
 * timestamps.
 */
import { describe, expect, it } from 'vitest';
import { SquallError } from '../../src/index.ts';
import { eventTimeTrigger, countWindow, globalWindow, session, sliding, tumbling, validateWindowedBolt } from '../../src/window/index.ts';
import type { WindowOptions } from '../../src/window/index.ts';
import { decodeValue, encodeValue, KEY_SEPARATOR } from '../../src/state/index.ts';
import { canon, Driver, rng } from './driver.ts';

const count = { create: () => 0, add: (a: number) => a + 1, merge: (a: number, b: number) => a + b, result: (a: number) => a };

/**
 * A seeded stream of events and watermarks into one bolt that never stops,
 * and into a second one that stops halfway; a third is restored from the
 * second's checkpoint (as `checkpointOf` gives it) with its watermark and
 * takes the rest. Together the second and third emit what the first did.
 */
async function restoredMidStream(
  opts: WindowOptions<number, any, any>,
  seed: number,
  checkpointOf: (first: Driver) => Driver,
  config: Record<string, unknown> = {},
  afterEach?: (first: Driver, i: number) => void,
  minRows = 50,
): Promise<void> {
  const whole = await Driver.make(opts, { ackers: 0, ...config });
  const first = await Driver.make(opts, { ackers: 0, ...config });
  const r = rng(seed);
  let t = 0;
  const events: Array<[string, number, number] | number> = [];
  for (let i = 0; i < 300; i++) {
    if (r() < 0.8) events.push([`k${Math.floor(r() * 3)}`, t - Math.floor(r() * 60), 1 + Math.floor(r() * 9)]);
    else events.push(t - 40);
    t += Math.floor(r() * 10);
  }
  events.push(t + 1000);
  const feed = (d: Driver, e: [string, number, number] | number) => (typeof e === 'number' ? d.watermark(e) : d.send(...e));
  for (const e of events) feed(whole, e);
  events.slice(0, 150).forEach((e, i) => {
    feed(first, e);
    afterEach?.(first, i);
  });
  // The checkpoint: the keyed state (timers included) and the watermark the runtime restores.
  const restored = await Driver.make(opts, { ackers: 0, ...config }, undefined, checkpointOf(first));
  const wm = first.backend.timers.currentWatermark();
  if (wm > -Infinity) restored.backend.advanceWatermark(wm);
  expect(restored.bolt.stats()).toEqual({ ...first.bolt.stats(), firings: { early: 0, onTime: 0, late: 0 }, lateEmitted: 0, lateDropped: 0, refused: 0 });
  for (const e of events.slice(150)) feed(restored, e);
  expect(canon([...first.rows(), ...restored.rows()])).toEqual(canon(whole.rows()));
  expect(whole.rows().length).toBeGreaterThan(minRows);
}

describe('windowed bolt', () => {
  it('an on-time result, then late firings that correct it with higher versions; too late goes to the late stream anchored to its input', async () => {
    const d = await Driver.make({ window: tumbling(100), time: { field: 'ts' }, allowedLatenessMs: 50, aggregate: count, late: { fields: ['key', 'ts', 'v'] } }, { ackers: 1 });
    const a = d.send('u', 10, 0);
    d.send('u', 20, 0);
    expect(d.collector.acked).toEqual([]);
    d.watermark(99);
    expect(d.rows()).toEqual([{ key: 'u', start: 0, end: 100, result: 2, kind: 'on-time', version: 1 }]);
    expect(d.collector.acked.length).toBe(2);
    expect(d.collector.acked[0]).toBe(a);
    const late = d.send('u', 30, 0);
    expect(d.rows()[1]).toEqual({ key: 'u', start: 0, end: 100, result: 3, kind: 'late', version: 2 });
    expect(d.collector.acked).toContain(late);
    d.watermark(149); // end - 1 + lateness: the window is gone
    const tooLate = d.send('u', 40, 7);
    expect(d.rows().length).toBe(2);
    const lateEmit = d.collector.emits.find((e) => e.stream === 'late')!;
    expect(lateEmit.values).toEqual(['u', 40, 7]);
    expect(lateEmit.anchors).toEqual([tooLate]);
    expect(d.collector.acked).toContain(tooLate);
    expect(d.bolt.stats()).toMatchObject({ keys: 0, panes: 0, versions: 0, pendingAcks: 0, lateEmitted: 1, firings: { early: 0, onTime: 1, late: 1 } });
  });

  it('ack mode: an input of a sliding window is acked when its last window fires, not before', async () => {
    const d = await Driver.make({ window: sliding(100, 50), time: { field: 'ts' }, aggregate: count }, { ackers: 1 });
    const t = d.send('u', 60, 0); // windows [0,100) and [50,150)
    d.watermark(99);
    expect(d.rows().map((r) => r.end)).toEqual([100]);
    expect(d.collector.acked).toEqual([]);
    expect(d.bolt.stats().pendingAcks).toBe(1);
    d.watermark(149);
    expect(d.collector.acked).toEqual([t]);
    expect(d.bolt.stats().pendingAcks).toBe(0);
  });

  it('checkpoint mode acks at once: the state, not the tuple, carries the input', async () => {
    const d = await Driver.make({ window: tumbling(100), time: { field: 'ts' }, aggregate: count }, { ackers: 0 });
    const t = d.send('u', 10, 0);
    expect(d.collector.acked).toEqual([t]);
    expect(d.bolt.stats().pendingAcks).toBe(0);
  });

  it('a window longer than the message timeout is refused in ack mode, naming the setting (E_WINDOW_TIMEOUT)', async () => {
    const opts: WindowOptions = { window: tumbling(60_000), time: { field: 'ts' }, allowedLatenessMs: 10_000, aggregate: count };
    let err: unknown;
    try {
      validateWindowedBolt({ ackers: 1, messageTimeoutMs: 30_000 }, opts, 'hourly');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SquallError);
    expect((err as SquallError).code).toBe('E_WINDOW_TIMEOUT');
    expect((err as SquallError).message).toMatch(/messageTimeoutMs/);
    expect((err as SquallError).message).toMatch(/70000/);
    expect(() => validateWindowedBolt({ ackers: 1, messageTimeoutMs: 90_000 }, opts)).not.toThrow();
    expect(() => validateWindowedBolt({ ackers: 0, messageTimeoutMs: 30_000 }, opts)).not.toThrow();
    expect(() => validateWindowedBolt({ ackers: 1, maxSpoutPending: 100 }, { window: countWindow(80, 40), reduce: (a: unknown) => a })).toThrow(expect.objectContaining({ code: 'E_WINDOW_TIMEOUT', message: expect.stringMatching(/maxSpoutPending/) }));
    expect(() => validateWindowedBolt({ ackers: 1, messageTimeoutMs: 1_000 }, { window: session(5_000), aggregate: count })).toThrow(expect.objectContaining({ code: 'E_WINDOW_TIMEOUT' }));
    // the same check on an instance (submit time), and in prepare against the topology config
    const { WindowedBolt } = await import('../../src/window/index.ts');
    expect(() => new WindowedBolt(opts).validate({ ackers: 1, messageTimeoutMs: 30_000 }, 'hourly')).toThrow(expect.objectContaining({ code: 'E_WINDOW_TIMEOUT', component: 'hourly' }));
    await expect(Driver.make(opts, { ackers: 1, messageTimeoutMs: 30_000 })).rejects.toMatchObject({ code: 'E_WINDOW_TIMEOUT' });
  });

  it('bad options are E_BAD_CONFIG when the bolt is made', () => {
    expect(() => validateWindowedBolt({}, { window: tumbling(10), aggregate: count, allowedLatenessMs: 5 })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringMatching(/event-time/) }));
    expect(() => validateWindowedBolt({}, { window: countWindow(3), reduce: (a: unknown) => a, early: { everyMs: 10 } })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => validateWindowedBolt({}, { window: tumbling(10), reduce: (a: unknown) => a, aggregate: count } as unknown as WindowOptions)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => sliding(10, 20)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
  });

  it('past a limit inputs are failed and counted, and E_WINDOW_LIMIT is reported once', async () => {
    const d = await Driver.make({ window: tumbling(100), time: { field: 'ts' }, aggregate: count, limits: { maxPanes: 2 } }, { ackers: 1 });
    d.send('a', 1, 0);
    d.send('b', 1, 0);
    const c1 = d.send('c', 1, 0);
    const c2 = d.send('c', 2, 0);
    d.send('a', 3, 0); // an existing pane: fine
    expect(d.collector.failed).toEqual([c1, c2]);
    expect(d.collector.errors.map((e) => (e as SquallError).code)).toEqual(['E_WINDOW_LIMIT']);
    expect(d.bolt.stats()).toMatchObject({ panes: 2, refused: 2 });
    d.watermark(99); // the windows fire and free room
    d.send('c', 150, 0);
    expect(d.collector.failed.length).toBe(2);
  });

  it('process windows count their buffered elements and stop at maxBufferedElements', async () => {
    const d = await Driver.make({ window: tumbling(100), time: { field: 'ts' }, process: (_k, _w, els) => els.length, limits: { maxBufferedElements: 3 } }, { ackers: 0 });
    for (let i = 0; i < 5; i++) d.send('a', i, 0);
    expect(d.bolt.stats()).toMatchObject({ bufferedElements: 3, refused: 2 });
    // Checkpoint mode drops (acks) what it refuses: a failure would roll the topology back into the same full window.
    expect(d.collector.failed).toEqual([]);
    expect(d.collector.acked.length).toBe(5);
    expect(d.collector.errors.map((e) => (e as SquallError).code)).toEqual(['E_WINDOW_LIMIT']);
    d.watermark(99);
    expect(d.rows()).toEqual([{ key: 'a', start: 0, end: 100, result: 3, kind: 'on-time', version: 1 }]);
    expect(d.bolt.stats().bufferedElements).toBe(0);
  });

  it('unkeyed: one window over every key, with key null', async () => {
    const d = await Driver.make({ window: tumbling(100), time: { field: 'ts' }, keyed: false, aggregate: count }, { ackers: 0 });
    d.send('a', 1, 0);
    d.send('b', 2, 0);
    d.send('c', 150, 0);
    d.watermark(99);
    expect(d.rows()).toEqual([{ key: null, start: 0, end: 100, result: 2, kind: 'on-time', version: 1 }]);
    expect(d.bolt.stats().keys).toBe(1);
  });

  it('restored from a checkpoint mid-stream, it goes on exactly as a run that never stopped', async () => {
    const opts: WindowOptions<number, any, any> = { window: sliding(100, 20), time: { field: 'ts' }, allowedLatenessMs: 30, early: { everyElements: 4 }, value: (v) => v[2] as number, reduce: (a, b) => a + b };
    await restoredMidStream(opts, 11, (first) => first);
  });

  it('restored from a checkpoint whose window state has the earlier layout (Maps of slices and versions), it goes on as a run that never stopped', async () => {
    const opts: WindowOptions<number, any, any> = { window: sliding(100, 20), time: { field: 'ts' }, allowedLatenessMs: 30, value: (v) => v[2] as number, reduce: (a, b) => a + b };
    await restoredMidStream(opts, 5, (first) => {
      // The checkpoint as the earlier layout wrote it: slice start -> accumulator and window end -> version, in Maps.
      const full = first.backend.snapshot(true);
      let converted = 0;
      const values = full.values.map((bytes, i) => {
        if (bytes === null || !full.keys[i]!.startsWith(`window${KEY_SEPARATOR}`)) return bytes;
        const st = decodeValue(bytes) as { starts: number[]; accs: unknown[]; top: unknown; ends: number[]; vers: number[] } & Record<string, unknown>;
        const { starts, accs, top, ends, vers, topStart: _, ...rest } = st;
        const panes = new Map(starts.map((a, k) => [a, k === starts.length - 1 ? top : accs[k]] as const).reverse());
        converted++;
        return encodeValue({ ...rest, panes, versions: new Map(ends.map((e, k) => [e, vers[k]!] as const)) });
      });
      expect(converted).toBeGreaterThan(0);
      return { backend: { snapshot: () => ({ ...full, values }) } } as unknown as Driver;
    });
  });

  it('restored from incremental checkpoints (only what changed since the one before, several times), it goes on as a run that never stopped', async () => {
    // A checkpoint as a bolt task takes it: snapshotState, then the keyed state changed since the last one.
    // The store keeps the newest value of each key (null: deleted), as the state stores merge deltas.
    const store = new Map<string, [number, Uint8Array | null]>();
    const checkpoint = (d: Driver, n: number): number => {
      expect(d.bolt.snapshotState(n)).toBeUndefined();
      const delta = d.backend.snapshot(false);
      for (let i = 0; i < delta.keys.length; i++) store.set(delta.keys[i]!, [delta.keyGroups[i]!, delta.values[i]!]);
      return delta.keys.length;
    };
    const opts: WindowOptions<number, any, any> = { window: tumbling(100), time: { field: 'ts' }, allowedLatenessMs: 30, value: (v) => v[2] as number, reduce: (a, b) => a + b };
    let written = 0;
    await restoredMidStream(
      opts,
      17,
      () => {
        const live = [...store].filter(([, [, v]]) => v !== null);
        return { backend: { snapshot: () => ({ keys: live.map(([k]) => k), keyGroups: live.map(([, [g]]) => g), values: live.map(([, [, v]]) => v) }) } } as unknown as Driver;
      },
      { checkpointIntervalMs: 1000 },
      (first, i) => {
        // Checkpoints every 20 events and the last one right at the cut (after the 150th).
        if (i % 20 === 19 || i === 149) written += checkpoint(first, i);
      },
      30,
    );
    expect(written).toBeGreaterThan(0);
  });

  it('a global window with a custom trigger on event-time timers', async () => {
    const d = await Driver.make({ window: globalWindow(eventTimeTrigger(100)), time: { field: 'ts' }, aggregate: count }, { ackers: 1 });
    d.send('a', 120, 0);
    d.send('a', 180, 0);
    d.send('a', 250, 0); // still the first period's window: the trigger fires at the end of the first element's period
    d.watermark(198);
    expect(d.rows()).toEqual([]);
    d.watermark(199);
    expect(d.rows()).toEqual([{ key: 'a', start: 120, end: 251, result: 3, kind: 'on-time', version: 1 }]);
    expect(d.collector.acked.length).toBe(3);
  });

  it('an event time that is not a number fails the input with E_WINDOW_BAD_TIMESTAMP', async () => {
    const d = await Driver.make({ window: tumbling(100), time: { field: 'ts' }, aggregate: count }, { ackers: 0 });
    expect(() => d.send('a', Number.NaN, 0)).toThrow(expect.objectContaining({ code: 'E_WINDOW_BAD_TIMESTAMP' }));
    expect(d.bolt.stats().keys).toBe(0);
  });
});

/**
 * Every assigner and trigger against the brute-force reference model
 * (model.ts) over seeded random streams with out-of-order, late and too
 * late input, on simulated time: the same results, the same firings (kind
 * and version), the same late inputs, and in ack mode the same inputs still
 * held after every step.
 */
import { describe, expect, it } from 'vitest';
import { countTrigger, countWindow, globalWindow, session, sliding, tumbling } from '../../src/window/index.ts';
import type { WindowOptions } from '../../src/window/index.ts';
import { canon, Driver, rng } from './driver.ts';
import { Model } from './model.ts';
import type { ModelConfig, Op } from './model.ts';

type Fn = 'aggregate' | 'reduce' | 'process';

interface Case {
  name: string;
  options: Omit<WindowOptions<number, any, any>, 'reduce' | 'aggregate' | 'process'>;
  model: Omit<ModelConfig, 'result'>;
  fns: Fn[];
  span: number; // a typical window length, for the generator
}

const sum = (els: number[]): number => els.reduce((a, b) => a + b, 0);

function withFn(fn: Fn, base: Case['options']): WindowOptions<number, any, any> {
  const value = (v: readonly unknown[]): number => v[2] as number;
  if (fn === 'reduce') return { ...base, value, reduce: (a: number, b: number) => a + b } as WindowOptions<number, any, any>;
  if (fn === 'aggregate') {
    return {
      ...base,
      value,
      aggregate: {
        create: () => ({ s: 0, n: 0 }),
        add: (acc: { s: number; n: number }, x: number) => {
          acc.s += x; // changes its accumulator in place: allowed
          acc.n++;
          return acc;
        },
        merge: (a: { s: number; n: number }, b: { s: number; n: number }) => ({ s: a.s + b.s, n: a.n + b.n }),
        result: (acc: { s: number; n: number }) => `${acc.s}/${acc.n}`,
      },
    } as WindowOptions<number, any, any>;
  }
  return { ...base, value, process: (_k: string | null, w: { start: number; end: number }, els: readonly number[]) => [w.end - w.start, ...[...els].sort((a, b) => a - b)] } as WindowOptions<number, any, any>;
}

function modelResult(fn: Fn): ModelConfig['result'] {
  if (fn === 'reduce') return (els) => sum(els);
  if (fn === 'aggregate') return (els) => `${sum(els)}/${els.length}`;
  return (els, start, end) => [end - start, ...els.sort((a, b) => a - b)];
}

/** A random stream: elements around a moving time, some out of order, some very late; watermarks trailing; clock ticks. */
function stream(seed: number, span: number, eventTime: boolean, n = 400): Op[] {
  const r = rng(seed);
  const ops: Op[] = [];
  let t = 1000;
  let wm = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.7) {
      const key = `k${Math.floor(r() * 4)}`;
      let ts = t - Math.floor(r() * span * 0.3);
      if (r() < 0.08) ts = t - Math.floor(r() * span * 3);
      ops.push({ op: 'el', key, ts, v: Math.floor(r() * 10) });
      t += Math.floor(r() * span * 0.15);
    } else if (x < 0.85) {
      if (eventTime) {
        const w = t - Math.floor(r() * span * 0.5);
        if (w > wm) {
          wm = w;
          ops.push({ op: 'wm', w });
        }
      }
    } else ops.push({ op: 'tick', ms: Math.floor(r() * span * 0.4) });
  }
  if (eventTime) ops.push({ op: 'wm', w: t + span * 20 });
  ops.push({ op: 'tick', ms: span * 20 });
  ops.push({ op: 'tick', ms: span * 20 });
  return ops;
}

const timeModel = (size: number, slide: number, offset = 0, alignToData = false) => ({ kind: 'time' as const, size, slide, offset, alignToData });

const CASES: Case[] = [
  { name: 'tumbling, event time', options: { window: tumbling(100), time: { field: 'ts' } }, model: { window: timeModel(100, 100), eventTime: true, lateness: 0, earlyN: 0, earlyMs: 0 }, fns: ['aggregate', 'reduce', 'process'], span: 100 },
  {
    name: 'tumbling with an offset, lateness, late stream',
    options: { window: tumbling(100, { offsetMs: 30 }), time: { field: 'ts' }, allowedLatenessMs: 50, late: { fields: ['key', 'ts', 'v'] } },
    model: { window: timeModel(100, 100, 30), eventTime: true, lateness: 50, earlyN: 0, earlyMs: 0 },
    fns: ['aggregate', 'process'],
    span: 100,
  },
  {
    name: 'sliding, lateness, early every 3 elements',
    options: { window: sliding(100, 20), time: { timestamp: (v) => v[1] as number }, allowedLatenessMs: 40, early: { everyElements: 3 } },
    model: { window: timeModel(100, 20), eventTime: true, lateness: 40, earlyN: 3, earlyMs: 0 },
    fns: ['aggregate', 'reduce', 'process'],
    span: 100,
  },
  { name: 'sliding whose slide does not divide the size (slices of gcd)', options: { window: sliding(90, 60), time: { field: 'ts' } }, model: { window: timeModel(90, 60), eventTime: true, lateness: 0, earlyN: 0, earlyMs: 0 }, fns: ['process', 'aggregate'], span: 90 },
  {
    name: 'sliding aligned to the data, lateness',
    options: { window: sliding(100, 25, { alignTo: 'data' }), time: { field: 'ts' }, allowedLatenessMs: 30 },
    model: { window: timeModel(100, 25, 0, true), eventTime: true, lateness: 30, earlyN: 0, earlyMs: 0 },
    fns: ['reduce', 'process'],
    span: 100,
  },
  {
    name: 'sliding, event time, early every 40 ms of processing time, lateness',
    options: { window: sliding(80, 40), time: { field: 'ts' }, allowedLatenessMs: 20, early: { everyMs: 40 } },
    model: { window: timeModel(80, 40), eventTime: true, lateness: 20, earlyN: 0, earlyMs: 40 },
    fns: ['aggregate'],
    span: 80,
  },
  {
    name: 'session, lateness, early every 2 elements',
    options: { window: session(50), time: { field: 'ts' }, allowedLatenessMs: 40, early: { everyElements: 2 }, late: { fields: ['key', 'ts', 'v'] } },
    model: { window: { kind: 'session', gap: 50 }, eventTime: true, lateness: 40, earlyN: 2, earlyMs: 0 },
    fns: ['aggregate', 'reduce', 'process'],
    span: 60,
  },
  { name: 'session, processing time, early every 25 ms', options: { window: session(30), early: { everyMs: 25 } }, model: { window: { kind: 'session', gap: 30 }, eventTime: false, lateness: 0, earlyN: 0, earlyMs: 25 }, fns: ['process', 'aggregate'], span: 40 },
  { name: 'tumbling, processing time, early every 20 ms', options: { window: tumbling(50), early: { everyMs: 20 } }, model: { window: timeModel(50, 50), eventTime: false, lateness: 0, earlyN: 0, earlyMs: 20 }, fns: ['aggregate', 'process'], span: 50 },
  { name: 'sliding, processing time', options: { window: sliding(60, 20) }, model: { window: timeModel(60, 20), eventTime: false, lateness: 0, earlyN: 0, earlyMs: 0 }, fns: ['reduce', 'process'], span: 60 },
  { name: 'tumbling count', options: { window: countWindow(5) }, model: { window: { kind: 'count', size: 5, slide: 5 }, eventTime: false, lateness: 0, earlyN: 0, earlyMs: 0 }, fns: ['aggregate', 'process'], span: 50 },
  { name: 'sliding count', options: { window: countWindow(6, 4) }, model: { window: { kind: 'count', size: 6, slide: 4 }, eventTime: false, lateness: 0, earlyN: 0, earlyMs: 0 }, fns: ['reduce', 'process'], span: 50 },
  { name: 'global window, count trigger', options: { window: globalWindow(countTrigger(4)), time: { field: 'ts' } }, model: { window: { kind: 'global-count', n: 4 }, eventTime: true, lateness: 0, earlyN: 0, earlyMs: 0 }, fns: ['aggregate', 'process'], span: 50 },
];

const SEEDS = [1, 2, 3, 4, 5, 6];

describe('windows against the reference model', () => {
  for (const c of CASES) {
    for (const fn of c.fns) {
      it(`${c.name} (${fn}), ${SEEDS.length} seeded streams, ack mode`, async () => {
        let rows = 0;
        let lates = 0;
        for (const seed of SEEDS) {
          const d = await Driver.make(withFn(fn, c.options), { ackers: 1, messageTimeoutMs: 1_000_000 });
          const m = new Model({ ...c.model, result: modelResult(fn) });
          const ops = stream(seed * 7919 + c.name.length, c.span, c.model.eventTime);
          const timed = c.model.window.kind === 'time' || c.model.window.kind === 'session';
          for (const op of ops) {
            if (op.op === 'el') d.send(op.key, op.ts, op.v);
            else if (op.op === 'wm') d.watermark(op.w);
            else d.advance(op.ms);
            m.apply(op);
            if (timed && op.op !== 'el') expect(d.bolt.stats().pendingAcks, `inputs held after ${JSON.stringify(op)}`).toBe(m.pending());
          }
          expect(canon(d.rows())).toEqual(canon(m.rows));
          const lateRows = c.options.late?.fields !== undefined ? d.late() : [];
          expect(lateRows.length + d.bolt.stats().lateDropped).toBe(m.late.length);
          if (c.options.late?.fields !== undefined) expect(lateRows).toEqual(m.late);
          // Every input acked exactly once once its windows fired (count and global windows: those whose window fired).
          const acked = d.collector.acked;
          expect(new Set(acked).size).toBe(acked.length);
          expect(d.collector.failed).toEqual([]);
          if (timed) {
            expect(acked.length).toBe(d.inputs.length);
            const st = d.bolt.stats();
            expect([st.keys, st.panes, st.bufferedElements, st.versions, st.pendingAcks]).toEqual([0, 0, 0, 0, 0]);
          }
          rows += m.rows.length;
          lates += m.late.length;
        }
        // The streams exercise what they claim: results, and late input where lateness applies.
        expect(rows).toBeGreaterThan(20);
        if (c.model.eventTime && time(c)) expect(lates).toBeGreaterThan(0);
      });
    }
  }
});

function time(c: Case): boolean {
  return c.model.window.kind === 'time' || c.model.window.kind === 'session';
}

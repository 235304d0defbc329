import { describe, expect, it } from 'vitest';
import { SeededRandom, SimulatedClock } from '../../src/index.ts';
import { Mailbox } from '../../src/kernel/mailbox.ts';
import { Histogram } from '../../src/kernel/histogram.ts';
import { latencyBetween } from '../../src/runtime/metrics.ts';
import type { ComponentMetrics } from '../../src/runtime/metrics.ts';

describe('Mailbox', () => {
  it('behaves as a FIFO queue against an array model, growing past its capacity without losing items', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = new SeededRandom(seed);
      const box = new Mailbox<number>(20);
      const model: number[] = [];
      let next = 0;
      for (let step = 0; step < 20_000; step++) {
        if (rnd.float() < 0.55) {
          box.push(next);
          model.push(next++);
        } else if (model.length > 0) {
          expect(box.shift()).toBe(model.shift());
        }
        expect(box.size).toBe(model.length);
        expect(box.hasRoom()).toBe(model.length < 20);
      }
      while (model.length) expect(box.shift()).toBe(model.shift());
    }
  });
});

describe('SimulatedClock', () => {
  it('fires timers in due order only when advanced, and repeats periodic ones', () => {
    const clock = new SimulatedClock(1000);
    const log: string[] = [];
    const stop = clock.every(100, () => log.push(`tick@${clock.now()}`));
    clock.after(250, () => log.push(`once@${clock.now()}`));
    const cancelled = clock.after(50, () => log.push('never'));
    cancelled();
    expect(log).toEqual([]);
    clock.advance(300);
    expect(log).toEqual(['tick@1100', 'tick@1200', 'once@1250', 'tick@1300']);
    stop();
    clock.advance(1000);
    expect(log).toHaveLength(4);
    expect(clock.now()).toBe(2300);
    expect(clock.nextDue()).toBeUndefined();
  });
});

describe('Histogram', () => {
  it('reads percentiles to within one bucket (9%)', () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.recordMs(i / 10); // 0.1 .. 100 ms
    expect(h.percentileMs(0.5)).toBeGreaterThanOrEqual(50);
    expect(h.percentileMs(0.5)).toBeLessThanOrEqual(50 * 1.095);
    expect(h.percentileMs(0.99)).toBeGreaterThanOrEqual(99);
    expect(h.percentileMs(0.99)).toBeLessThanOrEqual(100);
  });
});

describe('latencyBetween', () => {
  it('gives the percentiles of what was recorded between two snapshots only', () => {
    const h = new Histogram();
    for (let i = 0; i < 1000; i++) h.recordMs(100); // the slow warm-up
    const start = { completeLatencyBuckets: h.toSparse() } as ComponentMetrics;
    for (let i = 0; i < 1000; i++) h.recordMs(1); // the measured window
    const end = { completeLatencyBuckets: h.toSparse() } as ComponentMetrics;
    const w = latencyBetween(start, end);
    expect(w.count).toBe(1000);
    expect(w.p99).toBeGreaterThanOrEqual(1);
    expect(w.p99).toBeLessThan(1.1);
    expect(latencyBetween(undefined, end).p99).toBeGreaterThanOrEqual(100);
  });
});

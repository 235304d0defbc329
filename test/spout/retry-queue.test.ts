import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/runtime/clock.ts';
import { DEFAULT_RETRY_POLICY, RetryQueue, retryPolicy } from '../../src/spout/retry-queue.ts';

interface Msg {
  id: string;
  failures: number;
}

const msg = (id: string): Msg => ({ id, failures: 0 });

/** Poll everything due now. */
function drain(q: RetryQueue<Msg>): string[] {
  const out: string[] = [];
  for (let m = q.poll(); m !== undefined; m = q.poll()) out.push(m.id);
  return out;
}

describe('RetryQueue', () => {
  it('holds a failed message until its backoff has passed on the clock it was given', () => {
    const clock = new SimulatedClock(1000);
    const q = new RetryQueue<Msg>(clock, { retryInitialDelayMs: 100 });
    const a = msg('a');
    expect(q.fail(a, ++a.failures)).toBe(true);
    expect(q.size).toBe(1);
    expect(q.nextDueMs()).toBe(1100);
    clock.advance(99);
    expect(q.poll()).toBeUndefined();
    clock.advance(1);
    expect(q.poll()).toBe(a);
    expect(q.size).toBe(0);
    expect(q.poll()).toBeUndefined();
    expect(q.nextDueMs()).toBeUndefined();
  });

  it('polls earliest due first, and first in first out among messages due at the same time', () => {
    const clock = new SimulatedClock();
    const q = new RetryQueue<Msg>(clock, { retryInitialDelayMs: 100, retryMultiplier: 2 });
    // Due at 400 (third failure), 100, 200, 100, 100, 200, in that order of failing.
    const plan: [string, number][] = [['c3', 3], ['a1', 1], ['b2', 2], ['d1', 1], ['e1', 1], ['f2', 2]];
    for (const [id, failures] of plan) q.fail({ id, failures }, failures);
    clock.advance(100);
    expect(drain(q)).toEqual(['a1', 'd1', 'e1']);
    clock.advance(100);
    expect(drain(q)).toEqual(['b2', 'f2']);
    clock.advance(199);
    expect(drain(q)).toEqual([]);
    clock.advance(1);
    expect(drain(q)).toEqual(['c3']);
  });

  it('keeps the order through many messages failing at random times (a heap, checked against a sort)', () => {
    const clock = new SimulatedClock();
    const q = new RetryQueue<Msg & { due: number; seq: number }>(clock, { retryInitialDelayMs: 10, retryMultiplier: 3, retryMaxDelayMs: 5000 });
    const all: (Msg & { due: number; seq: number })[] = [];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 500; i++) {
      if (i % 50 === 0) clock.advance(rand(30));
      const failures = 1 + rand(8);
      const m = { id: `m${i}`, failures, due: clock.now() + q.delayMs(failures), seq: i };
      all.push(m);
      q.fail(m, failures);
    }
    all.sort((x, y) => x.due - y.due || x.seq - y.seq);
    clock.advance(1e6);
    const out: string[] = [];
    for (let m = q.poll(); m !== undefined; m = q.poll()) out.push(m.id);
    expect(out).toEqual(all.map((m) => m.id));
  });

  it('doubles the delay with each failure, up to retryMaxDelayMs', () => {
    const clock = new SimulatedClock();
    const q = new RetryQueue<Msg>(clock, { retryInitialDelayMs: 100, retryMultiplier: 2, retryMaxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => q.delayMs(n))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    // The same through fail/poll: each retry of one message waits twice as long, then the cap.
    const m = msg('m');
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const failedAt = clock.now();
      expect(q.fail(m, ++m.failures)).toBe(true);
      while (q.poll() === undefined) clock.advance(10);
      waits.push(clock.now() - failedAt);
    }
    expect(waits).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('gives up past maxRetries: fail returns false and queues nothing', () => {
    const clock = new SimulatedClock();
    const q = new RetryQueue<Msg>(clock, { retryInitialDelayMs: 0, maxRetries: 2 });
    const m = msg('m');
    expect(q.fail(m, ++m.failures)).toBe(true);
    expect(q.poll()).toBe(m);
    expect(q.fail(m, ++m.failures)).toBe(true);
    expect(q.poll()).toBe(m);
    expect(q.fail(m, ++m.failures)).toBe(false);
    expect(m.failures).toBe(3);
    expect(q.size).toBe(0);
    expect(q.poll()).toBeUndefined();
    // maxRetries 0: the first failure is the last.
    const none = new RetryQueue<Msg>(clock, { maxRetries: 0 });
    expect(none.fail(msg('x'), 1)).toBe(false);
    expect(none.size).toBe(0);
  });

  it('retries for ever by default, from 100 ms, doubling, up to 10 s', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ retryInitialDelayMs: 100, retryMultiplier: 2, retryMaxDelayMs: 10_000, maxRetries: Infinity });
    const q = new RetryQueue<Msg>(new SimulatedClock());
    expect(q.policy).toEqual(DEFAULT_RETRY_POLICY);
    expect(q.fail(msg('m'), 1_000_000)).toBe(true);
    expect(q.nextDueMs()).toBe(10_000);
  });

  it('configure changes the policy for later failures; unset options keep their value', () => {
    const clock = new SimulatedClock();
    const q = new RetryQueue<Msg>(clock, { retryInitialDelayMs: 50, maxRetries: 1 });
    q.configure({ retryMaxDelayMs: 60 });
    expect(q.policy).toEqual({ retryInitialDelayMs: 50, retryMultiplier: 2, retryMaxDelayMs: 60, maxRetries: 1 });
    expect(q.delayMs(2)).toBe(60);
  });

  it('rejects bad options with E_BAD_CONFIG naming where and the option', () => {
    const clock = new SimulatedClock();
    const bad: [Record<string, unknown>, string][] = [
      [{ retryInitialDelayMs: -1 }, 'retryInitialDelayMs'],
      [{ retryMultiplier: 0.5 }, 'retryMultiplier'],
      [{ retryMaxDelayMs: Number.NaN }, 'retryMaxDelayMs'],
      [{ maxRetries: -2 }, 'maxRetries'],
      [{ maxRetries: '3' }, 'maxRetries'],
    ];
    for (const [options, key] of bad) {
      expect(() => new RetryQueue<Msg>(clock, options, "spout 'x'"), key).toThrow(
        expect.objectContaining({ code: 'E_BAD_CONFIG', details: expect.objectContaining({ key }), message: expect.stringMatching(new RegExp(`^spout 'x': ${key} is `)) }),
      );
      expect(() => retryPolicy(options, 'w'), key).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    }
    const q = new RetryQueue<Msg>(clock);
    expect(() => q.configure({ retryMultiplier: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(q.policy.retryMultiplier).toBe(2);
  });
});

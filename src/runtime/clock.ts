import { SquallError } from '../errors/index.ts';

/**
 * The clock that drives semantic time: message timeouts, tick tuples, replay
 * backoff and latency figures. Injected so tests run on simulated time and
 * never sleep to wait for a timeout. (How often a host polls an idle spout is
 * scheduling, not semantics, and always uses the event loop's own timers.)
 */
export interface Clock {
  /** Milliseconds, monotonic; fractional where the clock has the precision. */
  now(): number;
  /** Call `fn` every `periodMs` until the returned function is called. */
  every(periodMs: number, fn: () => void): () => void;
  /** Call `fn` once after `delayMs` unless the returned function is called first. */
  after(delayMs: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  every(periodMs, fn) {
    const handle = setInterval(fn, periodMs);
    handle.unref?.();
    return () => clearInterval(handle);
  },
  after(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    handle.unref?.();
    return () => clearTimeout(handle);
  },
};

interface SimTimer {
  due: number;
  period: number; // 0 for one-shot
  fn: () => void;
  seq: number;
  cancelled: boolean;
}

/**
 * Simulated time: stands still until `advance()` moves it, then fires every
 * timer that fell due, in order of due time.
 */
export class SimulatedClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: SimTimer[] = [];

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  every(periodMs: number, fn: () => void): () => void {
    if (!(periodMs > 0)) throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `every() takes a positive period in milliseconds; got ${String(periodMs)}` });
    return this.add(this.time + periodMs, periodMs, fn);
  }

  after(delayMs: number, fn: () => void): () => void {
    return this.add(this.time + Math.max(0, delayMs), 0, fn);
  }

  /** The due time of the earliest live timer, or undefined when none is set. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers) if (!t.cancelled && (best === undefined || t.due < best)) best = t.due;
    return best;
  }

  /** Move time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `advance() takes a non-negative number of milliseconds; got ${String(ms)}` });
    this.advanceTo(this.time + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.due > target) break;
      this.time = next.due;
      if (next.period > 0) next.due += next.period;
      else next.cancelled = true;
      next.fn();
      this.timers = this.timers.filter((t) => !t.cancelled);
    }
    if (target > this.time) this.time = target;
  }

  private earliest(): SimTimer | undefined {
    let best: SimTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private add(due: number, period: number, fn: () => void): () => void {
    const timer: SimTimer = { due, period, fn, seq: this.seq++, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
}

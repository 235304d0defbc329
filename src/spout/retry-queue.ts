import { SquallError } from '../errors/index.ts';
import type { Clock } from '../runtime/index.ts';

/**
 * How a spout retries what fails: exponential backoff on the topology clock,
 * up to a number of retries. One set of names for every spout that retries
 * ({@link ReplayingSpout}, the KafkaSpout).
 */
export interface RetryOptions {
  /** Delay before the first retry of a failed message, in ms on the topology clock (default 100). */
  retryInitialDelayMs?: number;
  /** Each further retry waits this many times longer than the one before (default 2; at least 1). */
  retryMultiplier?: number;
  /** The longest delay between two retries, in ms (default 10000). */
  retryMaxDelayMs?: number;
  /** Retries before giving up on a message (default Infinity: never give up). */
  maxRetries?: number;
}

export type RetryPolicy = Readonly<Required<RetryOptions>>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retryInitialDelayMs: 100,
  retryMultiplier: 2,
  retryMaxDelayMs: 10_000,
  maxRetries: Number.POSITIVE_INFINITY,
});

/**
 * Validate retry options; the ones left unset keep their value in `base`.
 * A bad value is `E_BAD_CONFIG`, naming `where` (the spout) and the option.
 */
export function retryPolicy(options: RetryOptions, where: string, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const p = {
    retryInitialDelayMs: options.retryInitialDelayMs ?? base.retryInitialDelayMs,
    retryMultiplier: options.retryMultiplier ?? base.retryMultiplier,
    retryMaxDelayMs: options.retryMaxDelayMs ?? base.retryMaxDelayMs,
    maxRetries: options.maxRetries ?? base.maxRetries,
  };
  atLeast(p.retryInitialDelayMs, 0, 'retryInitialDelayMs', where, 'a number of ms, at least 0');
  atLeast(p.retryMultiplier, 1, 'retryMultiplier', where, 'a number, at least 1');
  atLeast(p.retryMaxDelayMs, 0, 'retryMaxDelayMs', where, 'a number of ms, at least 0');
  atLeast(p.maxRetries, 0, 'maxRetries', where, 'a number, at least 0 (Infinity: never give up)');
  return Object.freeze(p);
}

function atLeast(v: unknown, min: number, key: string, where: string, want: string): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `${where}: ${key} is ${JSON.stringify(v) ?? String(v)}; it must be ${want}`,
      details: { key, value: v },
    });
  }
}

/**
 * Failed messages waiting for their retry, on the topology clock: the delay
 * before retry n is `retryInitialDelayMs * retryMultiplier^(n-1)`, at most
 * `retryMaxDelayMs`, and a message that failed more than `maxRetries` times
 * is not queued (its spout gives up on it).
 *
 * A binary heap ordered by due time, first in first out among equal ones:
 * `fail` and `poll` are O(log n) and allocate nothing per message (the heap
 * lives in three parallel arrays). The caller counts the failures of each
 * message (the queue forgets a message once it is polled, and the message
 * may fail again).
 *
 * @example
 * const retries = new RetryQueue<Entry>(context.clock, { maxRetries: 5 });
 * // fail(msgId):   if (!retries.fail(entry, ++entry.failures)) giveUp(entry);
 * // nextTuple():   const due = retries.poll(); if (due !== undefined) emit it again
 */
export class RetryQueue<T extends object> {
  private readonly items: T[] = [];
  private readonly dues: number[] = [];
  private readonly seqs: number[] = [];
  private seq = 0;
  private current: RetryPolicy;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    options: RetryOptions = {},
    private readonly where = 'retry',
  ) {
    this.current = retryPolicy(options, where);
  }

  /** The policy in force. */
  get policy(): RetryPolicy {
    return this.current;
  }

  /** Change the policy; options left unset keep their value. Messages queued keep their due time. */
  configure(options: RetryOptions): void {
    this.current = retryPolicy(options, this.where, this.current);
  }

  /** Messages waiting for their retry. */
  get size(): number {
    return this.items.length;
  }

  /** The delay before retry number `failures` (1: the first retry). */
  delayMs(failures: number): number {
    const p = this.current;
    return Math.min(p.retryMaxDelayMs, p.retryInitialDelayMs * p.retryMultiplier ** (failures - 1));
  }

  /**
   * `item` failed, for the `failures`-th time counting this one. Queues it,
   * due after its backoff, and returns true; or returns false and queues
   * nothing when that is more than `maxRetries` failures: give up on it.
   */
  fail(item: T, failures: number): boolean {
    if (failures > this.current.maxRetries) return false;
    this.push(item, this.clock.now() + this.delayMs(failures));
    return true;
  }

  /** The message first due, removed from the queue, if its time has come; else undefined. */
  poll(): T | undefined {
    if (this.items.length === 0 || this.dues[0]! > this.clock.now()) return undefined;
    return this.pop();
  }

  /** When the first message falls due (clock ms), or undefined when none waits. */
  nextDueMs(): number | undefined {
    return this.items.length === 0 ? undefined : this.dues[0];
  }

  /** Forget every message waiting. */
  clear(): void {
    this.items.length = 0;
    this.dues.length = 0;
    this.seqs.length = 0;
  }

  /** Whether (due, seq) goes before the entry at i. */
  private before(due: number, seq: number, i: number): boolean {
    const d = this.dues[i]!;
    return due < d || (due === d && seq < this.seqs[i]!);
  }

  private push(item: T, due: number): void {
    const seq = this.seq++;
    let i = this.items.length;
    this.items.push(item);
    this.dues.push(due);
    this.seqs.push(seq);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(due, seq, up)) break;
      this.move(up, i);
      i = up;
    }
    this.set(i, item, due, seq);
  }

  private pop(): T {
    const top = this.items[0]!;
    const item = this.items.pop()!;
    const due = this.dues.pop()!;
    const seq = this.seqs.pop()!;
    const n = this.items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.before(this.dues[r]!, this.seqs[r]!, l) ? r : l;
        // Stop where the moved entry goes before both children.
        if (this.before(due, seq, c)) break;
        this.move(c, i);
        i = c;
      }
      this.set(i, item, due, seq);
    }
    return top;
  }

  private move(from: number, to: number): void {
    this.items[to] = this.items[from]!;
    this.dues[to] = this.dues[from]!;
    this.seqs[to] = this.seqs[from]!;
  }

  private set(i: number, item: T, due: number, seq: number): void {
    this.items[i] = item;
    this.dues[i] = due;
    this.seqs[i] = seq;
  }
}

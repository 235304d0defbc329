import type { RandomSource } from '../runtime/index.ts';
import type { Router } from './types.ts';

/**
 * Balanced shuffle (shuffle, none, localOrShuffle): deal the tasks out in a
 * random order and reshuffle when the deck is used up, so over k*n tuples
 * each of the n tasks gets exactly k, and no task sees a burst of more than
 * two in a row. The one-task answers are built once: nothing is allocated per
 * tuple.
 */
export class ShuffleRouter implements Router {
  private readonly singles: readonly (readonly number[])[];
  private readonly order: Uint32Array;
  private pos: number;

  constructor(
    tasks: readonly number[],
    private readonly random: RandomSource,
  ) {
    this.singles = singletons(tasks);
    this.order = new Uint32Array(tasks.length);
    for (let i = 0; i < tasks.length; i++) this.order[i] = i;
    this.pos = tasks.length; // shuffle on first use
  }

  chooseTasks(_values: readonly unknown[]): readonly number[] {
    if (this.pos === this.order.length) this.reshuffle();
    return this.singles[this.order[this.pos++]];
  }

  /** Fisher–Yates. */
  private reshuffle(): void {
    const order = this.order;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random.float() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    this.pos = 0;
  }
}

/** One frozen one-element array per task, shared by every tuple routed there. */
export function singletons(tasks: readonly number[]): readonly (readonly number[])[] {
  const out: (readonly number[])[] = new Array(tasks.length);
  for (let i = 0; i < tasks.length; i++) out[i] = Object.freeze([tasks[i]]);
  return out;
}

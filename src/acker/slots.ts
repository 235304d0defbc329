/**
 * Hands out small integer slots and takes them back, so per-entry state can
 * live in typed-array columns indexed by slot instead of an object per
 * entry. Freed slots are reused last-in first-out (warm in cache).
 */
export class SlotAllocator {
  private free: Int32Array;
  private freeCount = 0;
  /** Slots ever handed out: the next new one. */
  private high = 0;

  constructor(initial: number) {
    this.free = new Int32Array(initial);
  }

  take(): number {
    return this.freeCount > 0 ? this.free[--this.freeCount]! : this.high++;
  }

  give(slot: number): void {
    if (this.freeCount === this.free.length) {
      const f = new Int32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeCount++] = slot;
  }
}
